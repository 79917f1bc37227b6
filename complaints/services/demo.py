"""Demo data for ``make run`` (``manage.py seed_demo``) and the demo users.

The data shows every screen something to look at: a few hundred subscribers with
mail accounts (some webmail) and IP assignments, mailings in every state, complaints
from every channel (linked ones and new ones waiting in triage), hard and soft
bounces, subscribers at 0, 1, 2 and 3 live strikes (the last suspended) plus one
revoked strike, the timeline rows that go with them, and two failed inbound messages.

People and complainants are generated (Faker with a fixed seed); addresses use the
reserved example domains and documentation networks. Demo rows are marked by the
account number prefix DEMO- and complaint references starting with D. Rows are
written directly with the models: this is fixture data, not a history of decisions
taken through the services.
"""

import hashlib
import random
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.contrib.auth.models import Group, User
from django.db import transaction
from faker import Faker

from accounts.models import (
    Action,
    IPAssignment,
    MailAccount,
    Subscriber,
    network_to_block,
    network_to_keys,
)
from complaints.models import (
    Bounce,
    Complaint,
    InboundMessage,
    Mailing,
    MailingKey,
    Strike,
)

PREFIX = "DEMO-"
SUBSCRIBERS = 300
SEED = 2026
# How many subscribers get each number of live strikes (the rest get none).
STRIKE_PROFILE = {3: 3, 2: 4, 1: 8}
NEW_COMPLAINTS = 18
ISP_DOMAIN = "mail.isp.example"
DEMO_USERS = (
    # username, group, is superuser, what the user is for
    ("abuse", "abuse", False, "abuse staff"),
    ("support", "support", False, "support rep"),
    ("admin", None, True, "superuser, Django admin"),
)
ACTION_NOTICES = {
    Action.Kind.WARNING: "warning",
    Action.Kind.FINAL_WARNING: "final_warning",
    Action.Kind.SUSPENSION: "suspension",
    Action.Kind.TERMINATION: "termination",
    Action.Kind.RESTRICTION: "compromise_advice",
}
STRIKE_CONSEQUENCE = {
    1: Action.Kind.WARNING,
    2: Action.Kind.FINAL_WARNING,
    3: Action.Kind.SUSPENSION,
}
# Feedback loops bring most complaints.
CHANNELS = (
    Complaint.Channel.FEEDBACK_LOOP,
    Complaint.Channel.FEEDBACK_LOOP,
    Complaint.Channel.FEEDBACK_LOOP,
    Complaint.Channel.EMAIL,
    Complaint.Channel.WEB_FORM,
)
SUBJECTS = (
    "Spring sale: 40% off everything",
    "Your exclusive membership offer",
    "Last chance to claim your reward",
    "Newsletter: March deals",
    "Important update about your order",
    "Earn money from home today",
    "Limited stock, order now",
    "Invitation to our grand opening",
)


def demo_load(*, now: datetime, staff: User) -> dict[str, int] | None:
    """Load the demo data once; returns the row counts, or None when it is there."""
    if Subscriber.objects.filter(account_number__startswith=PREFIX).exists():
        return None
    with transaction.atomic():
        return DemoBuilder(now=now, staff=staff).build()


def demo_users() -> dict[str, User]:
    users = {}
    with transaction.atomic():
        for username, group, is_superuser, _role in DEMO_USERS:
            user, _ = User.objects.get_or_create(username=username)
            user.is_active = True
            # Abuse staff may open the admin (staff status); the group's model
            # permissions decide what they may do there.
            user.is_staff = is_superuser or group == "abuse"
            user.is_superuser = is_superuser
            user.save(update_fields=["is_active", "is_staff", "is_superuser"])
            groups = [Group.objects.get_or_create(name=group)[0]] if group else []
            user.groups.set(groups)
            users[username] = user
    return users


def demo_passwords_reset(users: dict[str, User]) -> dict[str, str]:
    passwords = {}
    with transaction.atomic():
        for username, user in users.items():
            passwords[username] = secrets.token_urlsafe(12)
            user.set_password(passwords[username])
            user.save(update_fields=["password"])
    return passwords


@dataclass
class DemoBuilder:
    """Builds the demo rows in memory and writes each table with one bulk insert."""

    now: datetime
    staff: User
    faker: Faker = field(init=False)
    rng: random.Random = field(init=False)
    mailings: list[Mailing] = field(default_factory=list)
    strikes: list[Strike] = field(default_factory=list)
    actions: list[Action] = field(default_factory=list)
    inbound: list[InboundMessage] = field(default_factory=list)
    current_ip: dict[int, str] = field(default_factory=dict)

    def __post_init__(self):
        self.faker = Faker()
        self.faker.seed_instance(SEED)
        self.rng = random.Random(SEED)  # noqa: S311 - demo data, not secrets

    def build(self) -> dict[str, int]:
        subscribers = self._subscribers()
        logins = self._mail_accounts(subscribers)
        self._ip_assignments(subscribers)
        plain = self._struck(subscribers, logins)
        plain = self._other_cases(plain, logins)
        self._quiet_mailings(plain, logins)
        Mailing.objects.bulk_create(self.mailings)
        self._keys()
        Strike.objects.bulk_create(self.strikes)
        complaints = self._complaints()
        bounces = self._bounces()
        self._failed_inbound()
        InboundMessage.objects.bulk_create(self.inbound)
        Complaint.objects.bulk_create(complaints)
        Bounce.objects.bulk_create(bounces)
        Mailing.objects.bulk_update(
            self.mailings, ["complaint_count", "hard_bounce_count", "soft_bounce_count"]
        )
        Action.objects.bulk_create(self.actions)
        Subscriber.objects.bulk_update(subscribers, ["status"])
        return {
            "subscribers": len(subscribers),
            "mailings": len(self.mailings),
            "complaints": len(complaints),
            "bounces": len(bounces),
            "strikes": len(self.strikes),
            "actions": len(self.actions),
        }

    # --- subscribers -------------------------------------------------------------

    def _subscribers(self) -> list[Subscriber]:
        subscribers = []
        for number in range(1, SUBSCRIBERS + 1):
            name = self.faker.name() if number % 7 else self.faker.company()
            slug = _slug(name)
            subscribers.append(
                Subscriber(
                    account_number=f"{PREFIX}{number:04d}",
                    name=name,
                    contact_email=f"{slug}.{number}@customer.example",
                )
            )
        return Subscriber.objects.bulk_create(subscribers)

    def _mail_accounts(self, subscribers: list[Subscriber]) -> dict[int, list[str]]:
        accounts, logins = [], {}
        for subscriber in subscribers:
            base = f"{_slug(subscriber.name)}{subscriber.pk}"
            names = [base, f"{base}.shop", f"{base}.news"][: self.rng.choice((1, 2, 3))]
            logins[subscriber.pk] = names
            accounts += [
                MailAccount(
                    subscriber=subscriber,
                    login=login,
                    address=f"{login}@{ISP_DOMAIN}",
                    is_webmail=self.rng.random() < 0.25,
                )
                for login in names
            ]
        MailAccount.objects.bulk_create(accounts)
        return logins

    def _ip_assignments(self, subscribers: list[Subscriber]) -> None:
        rows = []
        for index, subscriber in enumerate(subscribers):
            since = self._ago(days=self.rng.randint(90, 700))
            current = f"{('198.51.100', '203.0.113')[index // 250]}.{index % 250 + 1}"
            rows.append(_assignment(subscriber, current, since, None))
            self.current_ip[subscriber.pk] = current
            if index % 3 == 0:
                earlier = f"2001:db8:{index:x}::/56"
                start = since - timedelta(days=self.rng.randint(60, 400))
                rows.append(_assignment(subscriber, earlier, start, since))
        IPAssignment.objects.bulk_create(rows)

    # --- mailings, strikes and the timeline -------------------------------------

    def _struck(self, subscribers: list[Subscriber], logins) -> list[Subscriber]:
        """Give the first subscribers their live strikes; return the others."""
        queue = list(subscribers)
        for count, how_many in STRIKE_PROFILE.items():
            for _ in range(how_many):
                subscriber = queue.pop(0)
                for nth in range(1, count + 1):
                    days = 10 + 20 * (count - nth) + self.rng.randint(0, 9)
                    self._strike(subscriber, logins, nth=nth, days_ago=days)
        revoked = queue.pop(0)
        strike = self._strike(revoked, logins, nth=1, days_ago=40)
        strike.revoked_at, strike.revoked_by = self._ago(days=38), self.staff
        strike.revoke_reason = "The customer showed the list was confirmed opt-in."
        self._action(
            revoked,
            Action.Kind.STRIKE_REVOKED,
            strike.revoked_at,
            strike=strike,
            actor=self.staff,
            reason=strike.revoke_reason,
        )
        return queue

    def _strike(self, subscriber, logins, *, nth: int, days_ago: int) -> Strike:
        is_bogus = nth == 2 and subscriber.pk % 2 == 0
        mailing = self._mailing(
            subscriber, logins, state=Mailing.State.STRUCK, days_ago=days_ago
        )
        mailing.recipient_count = self.rng.randint(150, 900) if is_bogus else None
        strike = Strike(
            mailing=mailing,
            subscriber=subscriber,
            reason=Strike.Reason.BOGUS_ADDRESSES
            if is_bogus
            else Strike.Reason.COMPLAINTS,
            issued_at=mailing.last_seen + timedelta(hours=3),
            issued_by=None if is_bogus else self.staff,
        )
        self.strikes.append(strike)
        self._action(
            subscriber,
            Action.Kind.STRIKE,
            strike.issued_at,
            strike=strike,
            actor=strike.issued_by,
            reason=f"Strike {nth}: {strike.get_reason_display().lower()}.",
        )
        consequence = STRIKE_CONSEQUENCE[nth]
        self._action(subscriber, consequence, strike.issued_at, strike=strike)
        if consequence == Action.Kind.SUSPENSION:
            subscriber.status = Subscriber.Status.SUSPENDED
        return strike

    def _other_cases(self, queue: list[Subscriber], logins) -> list[Subscriber]:
        """Compromised accounts, a terminated one, and held batches staff decided."""
        for _ in range(3):
            subscriber = queue.pop(0)
            mailing = self._mailing(
                subscriber, logins, state=Mailing.State.COMPROMISED, days_ago=5
            )
            subscriber.status = Subscriber.Status.RESTRICTED
            self._action(
                subscriber,
                Action.Kind.RESTRICTION,
                mailing.last_seen + timedelta(hours=1),
                mailing=mailing,
                actor=self.staff,
                reason="Mail from an infected PC; password reset and advice sent.",
            )
        terminated = queue.pop(0)
        terminated.status = Subscriber.Status.TERMINATED
        self._action(
            terminated,
            Action.Kind.TERMINATION,
            self._ago(days=20),
            actor=self.staff,
            reason="Contract ended at the customer's request.",
        )
        for state, kind in (
            (Mailing.State.RELEASED, Action.Kind.HOLD_RELEASED),
            (Mailing.State.REJECTED, Action.Kind.HOLD_REJECTED),
            (Mailing.State.DISMISSED, Action.Kind.MAILING_DISMISSED),
        ):
            for _ in range(2):
                subscriber = queue.pop(0)
                mailing = self._mailing(subscriber, logins, state=state, days_ago=8)
                when = mailing.last_seen + timedelta(minutes=25)
                self._action(subscriber, kind, when, mailing=mailing, actor=self.staff)
        return queue

    def _quiet_mailings(self, queue: list[Subscriber], logins) -> None:
        """Open mailings that drew reports but no strike yet, and batches on hold."""
        for _ in range(8):
            self._mailing(queue.pop(0), logins, state=Mailing.State.OPEN, days_ago=2)
        for _ in range(3):
            subscriber = queue.pop(0)
            mailing = self._mailing(
                subscriber, logins, state=Mailing.State.HELD, days_ago=0
            )
            mailing.source = Mailing.Source.HOLD
            mailing.held_recipients = [
                f"{self.faker.user_name()}{n}@example.org" for n in range(12)
            ]
            mailing.recipient_count = 240 + len(mailing.held_recipients)
        for subscriber in queue[:4]:
            self._action(
                subscriber,
                Action.Kind.NOTE,
                self._ago(days=3),
                actor=self.staff,
                reason="Called about a slow connection; not an abuse matter.",
            )

    def _mailing(self, subscriber, logins, *, state: str, days_ago: int) -> Mailing:
        first_seen = self._ago(days=days_ago, hours=self.rng.randint(1, 12))
        subject = self.rng.choice(SUBJECTS)
        mailing = Mailing(
            subscriber=subscriber,
            sender=f"{self.rng.choice(logins[subscriber.pk])}@{ISP_DOMAIN}",
            subject=subject,
            normalized_subject=subject.lower(),
            first_seen=first_seen,
            last_seen=first_seen + timedelta(minutes=self.rng.randint(5, 90)),
            source=Mailing.Source.COMPLAINTS,
            state=state,
        )
        self.mailings.append(mailing)
        return mailing

    def _keys(self) -> None:
        keys = []
        for mailing in self.mailings:
            kind = MailingKey.Kind.MESSAGE_ID
            value = f"<demo.{mailing.pk}.{secrets.token_hex(4)}@{ISP_DOMAIN}>"
            if mailing.state == Mailing.State.HELD:
                kind, value = MailingKey.Kind.QUEUE_ID, f"4F{mailing.pk:06X}"
                mailing.held_queue_ids = [value]
                mailing.save(update_fields=["held_queue_ids"])
            keys.append(MailingKey(mailing=mailing, kind=kind, value=value))
        MailingKey.objects.bulk_create(keys)

    def _action(
        self,
        subscriber: Subscriber,
        kind: str,
        when: datetime,
        *,
        strike: Strike | None = None,
        mailing: Mailing | None = None,
        actor: User | None = None,
        reason: str = "",
    ) -> None:
        """A timeline row; notices count as sent a minute later. No actor: the
        system did it."""
        notice = ACTION_NOTICES.get(kind, "")
        self.actions.append(
            Action(
                subscriber=subscriber,
                kind=kind,
                strike=strike,
                mailing=strike.mailing if strike is not None else mailing,
                actor=actor,
                reason=reason,
                created_at=when,
                notice_template=notice,
                notified_at=when + timedelta(minutes=1) if notice else None,
            )
        )

    # --- complaints, bounces and inbound mail ------------------------------------

    def _complaints(self) -> list[Complaint]:
        complaints = []
        reported = {
            Mailing.State.STRUCK,
            Mailing.State.OPEN,
            Mailing.State.COMPROMISED,
            Mailing.State.DISMISSED,
        }
        for mailing in self.mailings:
            # A bogus-address mailing was struck on its bounces, not on complaints.
            if mailing.state in reported and mailing.recipient_count is None:
                mailing.complaint_count = self.rng.randint(1, 4)
                complaints += [
                    self._complaint(mailing=mailing)
                    for _ in range(mailing.complaint_count)
                ]
        complaints += [self._complaint(mailing=None) for _ in range(NEW_COMPLAINTS)]
        for index, complaint in enumerate(complaints):
            complaint.reference = f"D{index + 1:08d}"
        return complaints

    def _complaint(self, *, mailing: Mailing | None) -> Complaint:
        channel = self.rng.choice(CHANNELS)
        received = (mailing.last_seen if mailing else self._ago(days=1)) + timedelta(
            minutes=self.rng.randint(10, 600)
        )
        subject = mailing.subject if mailing else self.rng.choice(SUBJECTS)
        recipient = f"{self.faker.user_name()}@example.org"
        complaint = Complaint(
            channel=channel,
            received_at=received,
            **self._complainant(channel=channel, recipient=recipient),
            message_id=f"<{secrets.token_hex(8)}@{ISP_DOMAIN}>",
            header_from=mailing.sender if mailing else f"offers@{ISP_DOMAIN}",
            subject=subject,
            original_recipient=recipient,
            arrival_date=received - timedelta(hours=1),
            source_ip=self.current_ip.get(mailing.subscriber_id) if mailing else None,
            subscriber=mailing.subscriber if mailing else None,
            mailing=mailing,
            state=Complaint.State.LINKED if mailing else Complaint.State.NEW,
            link_note="matched the sender address" if mailing else "no sender matched",
            acknowledged_at=received + timedelta(minutes=1),
        )
        complaint.inbound = self._inbound(
            channel=_inbound_channel(channel), when=received, kind="complaint"
        )
        return complaint

    def _complainant(self, *, channel: str, recipient: str) -> dict[str, str]:
        """A feedback loop reports for its user; a person reports for themselves."""
        if channel == Complaint.Channel.FEEDBACK_LOOP:
            return {
                "complainant_email": "fbl@example.net",
                "feedback_type": "abuse",
                "user_agent": "ExampleFBL/2.1",
            }
        return {"complainant_email": recipient, "complainant_name": self.faker.name()}

    def _bounces(self) -> list[Bounce]:
        bounces = []
        for mailing in self.mailings:
            if mailing.recipient_count is not None and mailing.state == "struck":
                hard = max(30, mailing.recipient_count // 6)
                bounces += self._bounce_batch(mailing, hard=hard, soft=4)
            elif mailing.state == Mailing.State.OPEN:
                bounces += self._bounce_batch(mailing, hard=2, soft=3)
        return bounces

    def _bounce_batch(self, mailing: Mailing, *, hard: int, soft: int) -> list[Bounce]:
        """One delivery report per mailing, each naming several failed recipients."""
        when = mailing.last_seen + timedelta(minutes=20)
        inbound = self._inbound(
            channel=InboundMessage.Channel.PIPE, when=when, kind="bounce"
        )
        mailing.hard_bounce_count, mailing.soft_bounce_count = hard, soft
        return [
            Bounce(
                inbound=inbound,
                received_at=when,
                address=f"{self.faker.user_name()}.{n}@example.com",
                action="failed" if n < hard else "delayed",
                status="5.1.1" if n < hard else "4.2.2",
                reply_code=550 if n < hard else 452,
                diagnostic="user unknown" if n < hard else "mailbox full",
                reason="user_unknown" if n < hard else "mailbox_full",
                is_hard=n < hard,
                subscriber=mailing.subscriber,
                mailing=mailing,
            )
            for n in range(hard + soft)
        ]

    def _failed_inbound(self) -> None:
        for error in (
            "Not a report: no feedback report, delivery status or forwarded message.",
            "Undecodable MIME structure: missing closing boundary.",
        ):
            message = self._inbound(
                channel=InboundMessage.Channel.IMAP,
                when=self._ago(days=1),
                kind="other",
            )
            message.state, message.error = InboundMessage.State.FAILED, error

    def _inbound(self, *, channel: str, when: datetime, kind: str) -> InboundMessage:
        raw = (
            f"From: reports@example.net\r\nTo: abuse@isp.example\r\n"
            f"Subject: demo {kind} {len(self.inbound) + 1}\r\n"
            f"Message-ID: <demo-{secrets.token_hex(8)}@example.net>\r\n\r\n"
            f"Demo {kind}, generated by seed_demo.\r\n"
        ).encode()
        message = InboundMessage(
            raw=raw,
            sha256=hashlib.sha256(raw).hexdigest(),
            size=len(raw),
            channel=channel,
            received_at=when,
            state=InboundMessage.State.PROCESSED,
            kind=kind,
            processed_at=when,
            attempts=1,
        )
        self.inbound.append(message)
        return message

    def _ago(self, *, days: int, hours: int = 0) -> datetime:
        return self.now - timedelta(days=days, hours=hours)


def _assignment(subscriber, network: str, start, end) -> IPAssignment:
    range_start, range_end = network_to_keys(network)
    return IPAssignment(
        subscriber=subscriber,
        network=network,
        range_start=range_start,
        range_end=range_end,
        block=network_to_block(network),
        valid_from=start,
        valid_to=end,
    )


def _inbound_channel(channel: str) -> str:
    return {
        Complaint.Channel.FEEDBACK_LOOP: InboundMessage.Channel.PIPE,
        Complaint.Channel.EMAIL: InboundMessage.Channel.IMAP,
        Complaint.Channel.WEB_FORM: InboundMessage.Channel.WEB_FORM,
    }[channel]


def _slug(name: str) -> str:
    letters = "".join(ch for ch in name.lower() if ch.isalnum() or ch == " ")
    words = letters.split()
    return (words[0][0] + words[-1]) if len(words) > 1 else (words[0] if words else "x")
