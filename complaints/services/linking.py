"""Finding the subscriber and the mailing each report is about (DESIGN.md, step 4),
for a batch of reports at a time.

Subscriber, in order of trust: the authenticated login in the reported message's
Received trail, the trace header the ISP's outbound servers stamp, the sender
address, the Message-ID or queue id of a known mailing, then the source IP at the
time the message arrived. Mailing: a known Message-ID or queue id; else the
subscriber's mailing with the same normalised subject inside the window; else a
new mailing learned from the reports.

A batch costs a handful of queries whatever its size: ``LinkIndex.load`` fetches
every login, address, key and account number the batch mentions at once.
"""

import email.utils
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.db.models import Q

from accounts.models import MailAccount, Subscriber, is_ip_address
from accounts.selectors import subscriber_by_ip
from complaints.ingest import OriginalMessage
from complaints.models import Mailing, MailingKey

# "Re:", "Fwd:", "AW:", "[SPAM]" and similar prefixes that mail clients and
# filters add; they do not make a different mailing.
_SUBJECT_PREFIX = re.compile(
    r"^\s*(?:(?:re|fwd?|aw|wg|tr|sv|vs)\s*:|\[[^\]]{0,40}\])\s*", re.I
)
_TRACE_PAIR = re.compile(r"(login|account|acct|user)\s*=\s*([^;\s]+)", re.I)
KEY_LENGTH = 255


def normalize_subject(subject: str | None) -> str:
    text = (subject or "").strip()
    while True:
        stripped = _SUBJECT_PREFIX.sub("", text, count=1)
        if stripped == text:
            break
        text = stripped
    return " ".join(text.lower().split())[:255]


def parse_date(value: str | None) -> datetime | None:
    """An RFC 5322 date as an aware datetime, or None when it cannot be read."""
    if not value:
        return None
    try:
        when = email.utils.parsedate_to_datetime(value)
        if when is not None and when.tzinfo is not None:
            # Absurd years overflow here, or when stored (as UTC) later.
            when.astimezone(UTC)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when is None or when.tzinfo is None:
        return None
    return when


def report_time(original: OriginalMessage | None, fallback: datetime) -> datetime:
    """When the reported message was sent: its Date, else its arrival, else ours.
    A date more than a year off ours is a forged or broken header."""
    for value in (original.date, original.arrival_date) if original else ():
        when = parse_date(value)
        if when is not None and abs(when - fallback) < timedelta(days=365):
            return when
    return fallback


def sender_addresses(original: OriginalMessage) -> list[str]:
    found = []
    for value in (original.from_, original.mail_from):
        if value:
            _name, address = email.utils.parseaddr(value)
            if "@" in address:
                found.append(address.lower())
    return found


def trace_identity(trace: str | None) -> tuple[str | None, str | None]:
    """(login, account number) from the trace header: ``login=...; account=...``,
    or a bare value tried as both."""
    if not trace:
        return None, None
    pairs = {key.lower(): value for key, value in _TRACE_PAIR.findall(trace)}
    if not pairs:
        bare = trace.strip()[:254]
        return bare.lower(), bare
    login = pairs.get("login") or pairs.get("user")
    return (login.lower() if login else None), pairs.get("account") or pairs.get("acct")


def mailing_keys(original: OriginalMessage) -> list[tuple[str, str]]:
    keys = [(MailingKey.Kind.QUEUE_ID, q[:KEY_LENGTH]) for q in original.queue_ids]
    if original.message_id:
        keys.append((MailingKey.Kind.MESSAGE_ID, original.message_id[:KEY_LENGTH]))
    return keys


@dataclass
class LinkIndex:
    """Everything a batch's reports point at, fetched in a few queries."""

    by_login: dict[str, int] = field(default_factory=dict)
    by_address: dict[str, int] = field(default_factory=dict)
    by_account: dict[str, int] = field(default_factory=dict)
    by_key: dict[tuple[str, str], tuple[int, int]] = field(default_factory=dict)

    @classmethod
    def load(cls, originals: Iterable[OriginalMessage]) -> "LinkIndex":
        logins, addresses, accounts, keys = set(), set(), set(), set()
        for original in originals:
            if original.login:
                logins.add(original.login.strip().lower())
            login, account = trace_identity(original.trace)
            logins.update([login] if login else [])
            accounts.update([account] if account else [])
            addresses.update(sender_addresses(original))
            keys.update(mailing_keys(original))
        index = cls()
        for row in MailAccount.objects.filter(
            Q(login__in=logins) | Q(address__in=addresses)
        ).values_list("login", "address", "subscriber_id"):
            index.by_login[row[0]] = row[2]
            index.by_address.setdefault(row[1], row[2])
        if accounts:
            index.by_account = dict(
                Subscriber.objects.filter(account_number__in=accounts).values_list(
                    "account_number", "pk"
                )
            )
        if keys:
            index.by_key = _keys_lookup(keys)
        return index

    def subscriber_for(
        self, original: OriginalMessage, at: datetime
    ) -> tuple[int | None, str]:
        """The subscriber who sent the reported message and how it was found."""
        login = (original.login or "").strip().lower()
        if login in self.by_login:
            return self.by_login[login], f"login {login}"
        trace_login, trace_account = trace_identity(original.trace)
        found = self.by_login.get(trace_login) or self.by_account.get(trace_account)
        if found:
            return found, "trace header"
        for address in sender_addresses(original):
            if address in self.by_address:
                return self.by_address[address], "sender address"
        known = self.mailing_for_keys(original)
        if known:
            return known[1], "known Message-ID or queue id"
        if is_ip_address(original.source_ip):
            holder = subscriber_by_ip(address=original.source_ip, at=at).first()
            if holder:
                return holder.pk, f"source IP {original.source_ip}"
        return None, "no login, trace, sender, Message-ID or IP matched a subscriber"

    def mailing_for_keys(self, original: OriginalMessage) -> tuple[int, int] | None:
        """(mailing id, subscriber id) of a known mailing this message belongs to."""
        for key in mailing_keys(original):
            if key in self.by_key:
                return self.by_key[key]
        return None


def _keys_lookup(keys: set[tuple[str, str]]) -> dict[tuple[str, str], tuple[int, int]]:
    values = {value for _kind, value in keys}
    rows = MailingKey.objects.filter(value__in=values).values_list(
        "kind", "value", "mailing_id", "mailing__subscriber_id"
    )
    return {(kind, value): (mailing, sub) for kind, value, mailing, sub in rows}


@dataclass
class MailingMatcher:
    """Finds, or creates, the mailing of each (subscriber, subject, time) of a
    batch: the subscriber's mailing with the same normalised subject whose seen
    window, widened by ``window``, covers the time."""

    window: timedelta
    candidates: dict[tuple[int, str], dict[int, Mailing]] = field(default_factory=dict)

    def preload(self, wanted: list[tuple[int, str, datetime]]) -> None:
        if not wanted:
            return
        earliest = min(at for _s, _n, at in wanted) - self.window
        latest = max(at for _s, _n, at in wanted) + self.window
        for mailing in Mailing.objects.filter(
            subscriber_id__in={s for s, _n, _at in wanted},
            normalized_subject__in={n for _s, n, _at in wanted},
            last_seen__gte=earliest,
            first_seen__lte=latest,
        ):
            key = (mailing.subscriber_id, mailing.normalized_subject)
            self.candidates.setdefault(key, {})[mailing.pk] = mailing

    def find(self, subscriber_id: int, subject: str, at: datetime) -> Mailing | None:
        near = [
            m
            for m in self.candidates.get((subscriber_id, subject), {}).values()
            if m.last_seen >= at - self.window and m.first_seen <= at + self.window
        ]
        return max(near, key=lambda m: m.last_seen) if near else None

    def match_or_create(
        self,
        *,
        wanted: tuple[int, str, datetime],
        original: OriginalMessage,
        source: str,
    ) -> tuple[Mailing, str]:
        found = self.find(*wanted)
        if found is not None:
            return found, "same subject within the window"
        subscriber_id, subject, at = wanted
        mailing = Mailing.objects.create(
            subscriber_id=subscriber_id,
            sender=(original.from_ or original.mail_from or "")[:254],
            subject=(original.subject or "")[:998],
            normalized_subject=subject,
            first_seen=at,
            last_seen=at,
            source=source,
        )
        self.candidates.setdefault((subscriber_id, subject), {})[mailing.pk] = mailing
        return mailing, "new mailing learned from reports"


def mailing_keys_remember(pairs: Iterable[tuple[int, OriginalMessage]]) -> None:
    """Record the Message-IDs and queue ids seen for mailings, so later reports
    about the same messages link by key. A key already taken stays with its
    first mailing."""
    rows = {
        (kind, value): mailing_id
        for mailing_id, original in pairs
        for kind, value in mailing_keys(original)
    }
    MailingKey.objects.bulk_create(
        [MailingKey(mailing_id=m, kind=k, value=v) for (k, v), m in rows.items()],
        ignore_conflicts=True,
    )
