"""The demo of ``make run`` (``manage.py seed_demo``): a small simulated ISP put
through the desk's own path, then a day of staff's decisions, and the demo users.

Nothing here writes a complaint, bounce, mailing or strike itself. The simulator
(``simulator``, which knows nothing of the desk) writes four weeks of an ISP's
abuse mailbox ending yesterday: feedback-loop reports, bounces of several mail
systems, people's complaints and forwards, auto-replies, a bounce storm,
infected PCs, a stolen password and a joe-job, with the billing export of its
subscribers. The billing file goes through the subscriber import; every message
is stored with ``inbound_store`` at the time it arrived and processed by the
pipeline the worker runs (parse, link, record, policy), in arrival order, so a
page shows what the raw message beneath it says. A few reports come in through
the web form's own message builder, two messages are too complex to parse and
fail, and one is left pending for the periodic sweep.

Staff's decisions then go through the services as the ``abuse`` demo user:
strikes (a third one suspends, by the policy), a revoked strike, compromised
mailings (the account restricted, the security advice sent), a password reset,
a dismissal, a termination and notes. Held batches come from records shaped as
the policy service writes them, their recipients from queue files read by the
configured headers command (here ``cat`` on files the demo writes); one is left
held, one waits longer than ``ABUSE_HOLD_REVIEW_HOURS``, one is released and
one rejected.

The simulated ISP's servers (``isp.env``: relays, MX, webmail, domains, trace
header) are in force while the demo loads and are written to ``var/demo-isp.env``,
which the launcher passes on to the desk's processes. Mail the demo causes
(notices, acknowledgments) goes to Django's in-memory backend, nowhere.
"""

import email
import email.policy
import email.utils
import json
import logging
import secrets
import shutil
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.contrib.auth.models import Group, User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.test.utils import override_settings

import simulator
from abusedesk.envfile import env_file_read
from abusedesk.launcher import DEMO_ISP_ENV
from accounts.importing import read_rows
from accounts.models import Subscriber
from accounts.services import status as subscriber_status
from accounts.services.imports import subscriber_import
from accounts.services.timeline import subscriber_note_add
from complaints import services as complaint_services
from complaints.models import Bounce, Complaint, InboundMessage, Mailing, Strike
from complaints.services import notices
from complaints.services.public_reports import (
    Submission as WebReport,
)
from complaints.services.public_reports import (
    report_message_build,
)
from complaints.services.recording import reference_new
from outbound.services import holds
from outbound.services.drain import submissions_record

logger = logging.getLogger(__name__)

SEED = 2026
SCALE = "small"
# The simulator writes four weeks; see ``_start`` for where they end.
DAYS_BACK = 29
LAST_MAILING_BEFORE_NOW = timedelta(days=1)
PROCESS_BATCH = 200
LIST_SETTINGS = (
    "ABUSE_ISP_DOMAINS",
    "ABUSE_RELAY_HOSTS",
    "ABUSE_MX_HOSTS",
    "ABUSE_WEBMAIL_CLIENTS",
)
DEMO_USERS = (
    # username, group, is superuser, what the user is for
    ("abuse", "abuse", False, "abuse staff"),
    ("support", "support", False, "support rep"),
    ("admin", None, True, "superuser, Django admin"),
)
# Every WEB_REPORT_EVERY-th reported message is also reported on the web form,
# by a person who uploads it, in these words.
WEB_REPORT_EVERY = 45
WEB_REPORT_WORDS = (
    "I never signed up for this and it keeps coming every week.",
    "This arrived at my work address; please make it stop.",
    "Third one this month. The unsubscribe link does not work.",
    "My children's mailbox got this. Who is sending it?",
)
# Held bursts: how long ago each started, and what staff then decided.
HOLDS = (
    (timedelta(days=3), None),  # waiting longer than the review time
    (timedelta(hours=2), None),
    (timedelta(days=6), "release"),
    (timedelta(days=9), "reject"),
)
HELD_MESSAGES = 5


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


def demo_load(*, now: datetime, users: dict[str, User]) -> dict[str, int] | None:
    """Load the demo into an empty desk; returns what it made, or None when the
    desk already has subscribers (the demo never mixes into other data)."""
    if Subscriber.objects.exists():
        return None
    with tempfile.TemporaryDirectory(prefix="abusedesk-demo-") as tmp:
        box = Path(tmp)
        simulator.generate(seed=SEED, out=box, scale=SCALE, start=_start(now, box))
        isp = env_file_read(box / "isp.env")
        var_dir = Path(settings.VAR_DIR)
        var_dir.mkdir(parents=True, exist_ok=True)
        (var_dir / DEMO_ISP_ENV).write_text((box / "isp.env").read_text())
        demo = Demo(box=box, now=now, staff=users["abuse"], support=users["support"])
        # The services log every message and decision at INFO; the demo's
        # hundreds of lines would bury the passwords printed after it.
        logging.disable(logging.INFO)
        try:
            with override_settings(**_isp_settings(isp), **_quiet_mail(box)):
                demo.load()
        finally:
            logging.disable(logging.NOTSET)
    return demo.counts()


def _start(now: datetime, box: Path) -> datetime:
    """The first day of the simulated weeks, chosen so the last mailing ends a
    day before ``now``: a fixed start made the last week's mailings fall in or
    out of "this week" by the time of day. Mail the simulator has arriving
    after ``now`` has not arrived yet, and the demo leaves it out.

    The same seed places every mailing at the same offset from the start, so a
    trial run's truth gives the offset of the last one."""
    trial = (now - timedelta(days=DAYS_BACK)).astimezone(UTC)
    simulator.generate(seed=SEED, out=box / "trial", scale=SCALE, start=trial)
    with open(box / "trial" / "truth" / "mailings.jsonl") as truth:
        ends = [
            datetime.fromisoformat(row["start"]) + timedelta(hours=row["hours"])
            for row in map(json.loads, truth)
        ]
    shutil.rmtree(box / "trial")
    return trial + (now - LAST_MAILING_BEFORE_NOW - max(ends))


def _isp_settings(isp: dict[str, str]) -> dict:
    overrides = {}
    for name, value in isp.items():
        if name in LIST_SETTINGS:
            overrides[name] = [part for part in value.split(",") if part]
        elif name.startswith("ABUSE_"):
            overrides[name] = value
    return overrides


def _quiet_mail(box: Path) -> dict:
    return {
        "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
        "ABUSE_QUEUE_HEADERS_COMMAND": f"cat {box / 'queue'}/{{queue_id}}",
    }


@dataclass
class Demo:
    box: Path
    now: datetime
    staff: User
    support: User
    processed: dict[str, int] = field(default_factory=dict)

    def load(self) -> None:
        self._subscribers()
        self._mail()
        self._decisions()
        self._holds()

    def counts(self) -> dict[str, int]:
        return {
            "subscribers": Subscriber.objects.count(),
            "messages": InboundMessage.objects.count(),
            "complaints": Complaint.objects.count(),
            "bounces": Bounce.objects.count(),
            "mailings": Mailing.objects.count(),
            "strikes": Strike.objects.count(),
        }

    # --- the billing export and the mailbox ------------------------------------

    def _subscribers(self) -> None:
        path = self.box / "subscribers.csv"
        with path.open(encoding="utf-8", newline="") as handle:
            subscriber_import(rows=read_rows(handle), now=self.now)

    def _mail(self) -> None:
        files = sorted((self.box / "Maildir").glob("*/*"), key=lambda p: p.name)
        stored = []
        # One transaction for the lot, as import_mail batches its files: a
        # commit per message would cost SQLite a sync each.
        with transaction.atomic():
            for n, path in enumerate(files):
                raw = path.read_bytes()
                arrived = _arrival(path)
                if arrived > self.now:
                    continue
                stored.append(_store(raw, InboundMessage.Channel.PIPE, arrived))
                if n % WEB_REPORT_EVERY == WEB_REPORT_EVERY - 1:
                    copied = arrived + timedelta(hours=2)
                    web = copied <= self.now and self._web_report(raw, copied, n)
                    if web:
                        stored.append(web)
            for n, raw in enumerate(_too_complex()):
                when = self.now - timedelta(hours=n + 1)
                stored.append(_store(raw, InboundMessage.Channel.IMAP, when))
        stored.sort(key=lambda inbound: (inbound.received_at, inbound.pk))
        for first in range(0, len(stored), PROCESS_BATCH):
            batch = stored[first : first + PROCESS_BATCH]
            states = complaint_services.inbound_process_many(
                inbound_ids=[inbound.pk for inbound in batch],
                now=batch[-1].received_at,
            )
            for state in states.values():
                self.processed[state] = self.processed.get(state, 0) + 1
        self._acknowledge()
        # Left for the periodic sweep of the running desk to pick up.
        _store(_pending_complaint(self.now), InboundMessage.Channel.IMAP, self.now)

    def _web_report(self, raw: bytes, when: datetime, n: int) -> InboundMessage | None:
        """The reported message of ``raw`` uploaded on the web form, the message
        built as the form builds it."""
        original = _reported_message(raw)
        if original is None:
            return None
        report = WebReport(
            email=f"reader{n}@example.org",
            name=f"Reader {n}",
            what_happened=WEB_REPORT_WORDS[n % len(WEB_REPORT_WORDS)],
            eml=original,
        )
        built = report_message_build(
            submission=report, reference=reference_new(), now=when, problems=[]
        )
        return _store(built, InboundMessage.Channel.WEB_FORM, when)

    def _acknowledge(self) -> None:
        """Acknowledge now, in-process, what recording decided to acknowledge, so
        the running desk's worker finds nothing left to send."""
        owed = Complaint.objects.filter(
            needs_acknowledgment=True, acknowledged_at__isnull=True
        ).values_list("pk", flat=True)
        with transaction.atomic():
            for complaint_id in list(owed):
                notices.complaint_acknowledge(complaint_id=complaint_id)

    # --- a day of staff's decisions ---------------------------------------------

    def _decisions(self) -> None:
        self._strikes()
        self._compromises()
        self._other_decisions()

    def _open_mailings(self, *, compromised: bool):
        return (
            Mailing.objects.filter(
                state=Mailing.State.OPEN,
                complaint_count__gt=0,
                is_likely_compromised=compromised,
                subscriber__isnull=False,
            )
            .select_related("subscriber")
            .order_by("subscriber__account_number", "first_seen", "pk")
        )

    def _strikes(self) -> None:
        """Strike the complaint mailings of every other subscriber, oldest
        first; the others' wait for a decision on the mailings list."""
        by_subscriber: dict[int, list[Mailing]] = {}
        for mailing in self._open_mailings(compromised=False):
            by_subscriber.setdefault(mailing.subscriber_id, []).append(mailing)
        ranked = sorted(by_subscriber.values(), key=len, reverse=True)
        for n, mailings in enumerate(ranked):
            if n % 2 == 1 and len(mailings) == 1:
                continue
            for mailing in mailings:
                self._try(complaint_services.strike_issue, mailing=mailing)
        revocable = (
            Strike.objects.filter(revoked_at=None, issued_by=self.staff)
            .select_related("subscriber")
            .order_by("subscriber__account_number")
        )
        for strike in revocable:
            if strike.subscriber.strikes.count() == 1:
                complaint_services.strike_revoke(
                    strike=strike,
                    actor=self.staff,
                    reason="The customer showed the list was confirmed opt-in.",
                )
                break

    def _compromises(self) -> None:
        """Mark the likely compromised mailings compromised, all but the newest,
        which stays flagged for staff; one customer then resets the password."""
        flagged = list(self._open_mailings(compromised=True))
        flagged.sort(key=lambda mailing: mailing.last_seen)
        for mailing in flagged[:-1]:
            self._try(
                complaint_services.mailing_mark_compromised,
                mailing=mailing,
                reason="Spam from an infected PC or a stolen password; "
                "password reset and security advice sent.",
            )
        restricted = Subscriber.objects.filter(
            status=Subscriber.Status.RESTRICTED
        ).order_by("account_number")
        first = restricted.first()
        if first is not None:
            subscriber_status.password_reset_record(
                subscriber=first,
                actor=self.staff,
                reason="The customer called back: new password set, PC cleaned.",
            )

    def _other_decisions(self) -> None:
        waiting = list(self._open_mailings(compromised=False))
        if waiting:
            complaint_services.mailing_dismiss(
                mailing=waiting[-1],
                actor=self.staff,
                reason="A confirmed opt-in list; the complaint was a mistake.",
            )
        quiet = Subscriber.objects.filter(
            status=Subscriber.Status.ACTIVE, mailings__isnull=True
        ).order_by("account_number")
        quiet = list(quiet[:3])
        if quiet:
            subscriber_status.subscriber_terminate(
                subscriber=quiet[0],
                actor=self.staff,
                reason="Contract ended at the customer's request.",
            )
        for subscriber in quiet[1:]:
            subscriber_note_add(
                subscriber=subscriber,
                author=self.support,
                text="Called about a slow connection; not an abuse matter.",
            )

    def _try(self, service, **kwargs) -> None:
        """A decision the service refuses (say, a mailing that is no longer
        eligible) is skipped, as staff would see the refusal and move on."""
        try:
            service(actor=self.staff, **kwargs)
        except ValidationError as error:
            logger.info("demo decision skipped: %s", error.messages[0])

    # --- held batches -------------------------------------------------------------

    def _holds(self) -> None:
        senders = list(
            Subscriber.objects.filter(
                status=Subscriber.Status.ACTIVE, mailings__isnull=True
            )
            .exclude(actions__kind="note")
            .prefetch_related("mail_accounts")
            .order_by("-account_number")[: len(HOLDS)]
        )
        queue_dir = self.box / "queue"
        queue_dir.mkdir(exist_ok=True)
        for n, (subscriber, (ago, decision)) in enumerate(
            zip(senders, HOLDS, strict=False)
        ):
            account = subscriber.mail_accounts.all()[0]
            records = _burst(subscriber, account.login, self.now - ago, n)
            for record in records:
                _queue_file(queue_dir / record["q"], record, n)
            submissions_record(records=records)
            batch = Mailing.objects.get(subscriber=subscriber, state=Mailing.State.HELD)
            for submission_id in batch.submissions.values_list("pk", flat=True):
                holds.queue_command_run(
                    submission_id=submission_id, operation="headers"
                )
            if decision is not None:
                holds.held_batch_decide(
                    mailing=batch,
                    actor=self.staff,
                    release=decision == "release",
                    reason=""
                    if decision == "release"
                    else "A purchased list; most addresses are invalid.",
                )


def _store(raw: bytes, channel: str, when: datetime) -> InboundMessage:
    inbound, _ = complaint_services.inbound_store(
        raw=raw, channel=channel, enqueue=False, received_at=when
    )
    return inbound


def _arrival(path: Path) -> datetime:
    """The Maildir name starts with the arrival time (seconds.Mmicroseconds)."""
    seconds, _, rest = path.name.partition(".M")
    micro = int(rest[:6]) if rest[:6].isdigit() else 0
    return datetime.fromtimestamp(int(seconds), tz=UTC) + timedelta(microseconds=micro)


def _reported_message(raw: bytes) -> bytes | None:
    """The message a report carries (message/rfc822), as the person saved it."""
    message = email.message_from_bytes(raw, policy=email.policy.compat32)
    for part in message.walk():
        if part.get_content_type() == "message/rfc822":
            inner = part.get_payload()
            if isinstance(inner, list) and inner:
                return inner[0].as_bytes()
    return None


def _too_complex() -> list[bytes]:
    """Two messages the parser refuses as too complex (complaints/ingest/limits):
    a multipart of 1,500 parts, and parts nested 150 deep."""
    head = (
        "From: noc@example.net\r\nTo: abuse@vialink.example\r\n"
        "Subject: {subject}\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/mixed; boundary="{boundary}"\r\n\r\n'
    )
    wide = head.format(subject="Daily digest of blocked mail", boundary="w")
    wide += "".join(
        f"--w\r\nContent-Type: text/plain\r\n\r\nentry {n}\r\n" for n in range(1500)
    )
    wide += "--w--\r\n"
    deep = head.format(subject="Fwd: Fwd: Fwd: look at this", boundary="d0")
    for n in range(1, 150):
        deep += f'--d{n - 1}\r\nContent-Type: multipart/mixed; boundary="d{n}"\r\n\r\n'
    deep += "--d149\r\nContent-Type: text/plain\r\n\r\nhello\r\n--d149--\r\n"
    return [wide.encode(), deep.encode()]


def _pending_complaint(now: datetime) -> bytes:
    return (
        "From: A Reader <a.reader@example.org>\r\nTo: abuse@vialink.example\r\n"
        f"Subject: More spam from your network\r\nDate: {_rfc(now)}\r\n"
        "Message-ID: <demo-pending@example.org>\r\n\r\n"
        "Another one arrived this morning; the headers are below.\r\n"
    ).encode()


def _rfc(moment: datetime) -> str:
    return email.utils.format_datetime(moment)


def _burst(subscriber: Subscriber, login: str, start: datetime, n: int) -> list[dict]:
    """What the policy service records for a burst it held (outbound/policy)."""
    return [
        {
            "h": "smtp1.out.vialink.example",
            "q": f"4F{n:02d}{m:02d}{subscriber.pk:06X}",
            "t": (start + timedelta(minutes=m)).timestamp(),
            "l": login,
            "s": subscriber.pk,
            "c": "81.200.31.10",
            "f": f"{login}@vialink.example",
            "n": 48,
            "z": 24_000,
            "a": "hold",
            "r": "burst",
            "x": "more than 200 messages within 10 minutes",
            "k": "",
            "p": False,
        }
        for m in range(HELD_MESSAGES)
    ]


def _queue_file(path: Path, record: dict, n: int) -> None:
    """A queued message as ``postcat -ehq`` prints it; a few recipients are not
    addresses at all, which the held batch's page flags."""
    recipients = [f"customer{m}.{n}@example.com" for m in range(6)]
    recipients += ["info@@example.com", "no-such-address"] if n % 2 == 0 else []
    lines = ["*** ENVELOPE RECORDS ***", f"sender: {record['f']}"]
    lines += [f"recipient: {address}" for address in recipients]
    lines += [
        "*** MESSAGE CONTENTS ***",
        f"From: {record['f']}",
        "Subject: " + ("Winter offers, 30% off", "Your invoice", "Meeting")[n % 3],
        "*** HEADER EXTRACTED ***",
    ]
    path.write_text("\n".join(lines) + "\n")
