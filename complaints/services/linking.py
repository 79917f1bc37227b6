"""Finding the subscriber and the mailing a report is about (DESIGN.md, step 4).

Subscriber, in order of trust: the authenticated login in the reported message's
Received trail, the trace header the ISP's outbound servers stamp, the sender
address, the Message-ID or queue id of a known mailing, then the source IP at the
time the message arrived. Mailing: a known Message-ID or queue id; else the
subscriber's mailing with the same normalised subject inside the window; else a
new mailing learned from this report.
"""

import email.utils
import ipaddress
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Q

from accounts.models import MailAccount, Subscriber
from accounts.selectors import subscriber_by_ip
from complaints.ingest import OriginalMessage
from complaints.models import Mailing, MailingKey

# "Re:", "Fwd:", "AW:", "[SPAM]" and similar prefixes that mail clients and
# filters add; they do not make a different mailing.
_SUBJECT_PREFIX = re.compile(
    r"^\s*(?:(?:re|fwd?|aw|wg|tr|sv|vs)\s*:|\[[^\]]{0,40}\])\s*", re.I
)
_TRACE_PAIR = re.compile(r"(login|account|acct|user)\s*=\s*([^;\s]+)", re.I)


@dataclass(frozen=True)
class Link:
    subscriber: Subscriber | None
    mailing: Mailing | None
    note: str


def normalize_subject(subject: str | None) -> str:
    text = (subject or "").strip()
    while True:
        stripped = _SUBJECT_PREFIX.sub("", text, count=1)
        if stripped == text:
            break
        text = stripped
    return " ".join(text.lower().split())[:255]


def report_time(original: OriginalMessage | None, fallback: datetime) -> datetime:
    """When the reported message was sent: its Date, else its arrival, else ours."""
    for value in (original.date, original.arrival_date) if original else ():
        when = _parse_date(value)
        if when is not None and abs(when - fallback) < timedelta(days=365):
            return when
    return fallback


def _parse_date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None or when.tzinfo is None:
        return None
    return when


def subscriber_find(
    *, original: OriginalMessage, at: datetime
) -> tuple[Subscriber | None, str]:
    """The subscriber who sent the reported message and how it was found."""
    if original.login:
        account = _mail_account(login=original.login)
        if account:
            return account.subscriber, f"login {original.login}"
    if original.trace:
        subscriber = _subscriber_from_trace(original.trace)
        if subscriber:
            return subscriber, "trace header"
    for address in _addresses(original.from_, original.mail_from):
        account = _mail_account(address=address)
        if account:
            return account.subscriber, "sender address"
    mailing = mailing_by_keys(original=original)
    if mailing:
        return mailing.subscriber, "known Message-ID or queue id"
    if original.source_ip and _is_ip(original.source_ip):
        holder = subscriber_by_ip(address=original.source_ip, at=at).first()
        if holder:
            return holder, f"source IP {original.source_ip}"
    return None, "no login, trace, sender, Message-ID or IP matched a subscriber"


def _mail_account(**lookup: str) -> MailAccount | None:
    lookup = {key: value.strip().lower() for key, value in lookup.items()}
    return MailAccount.objects.select_related("subscriber").filter(**lookup).first()


def _subscriber_from_trace(trace: str) -> Subscriber | None:
    """The trace header carries ``login=...`` and/or ``account=...``; a bare value
    is tried as a login, then as an account number."""
    pairs = {key.lower(): value for key, value in _TRACE_PAIR.findall(trace)}
    login = pairs.get("login") or pairs.get("user")
    account = pairs.get("account") or pairs.get("acct")
    if not pairs:
        login = account = trace.strip()
    if login:
        found = _mail_account(login=login)
        if found:
            return found.subscriber
    if account:
        return Subscriber.objects.filter(account_number=account).first()
    return None


def _addresses(*values: str | None) -> list[str]:
    found = []
    for value in values:
        if value:
            _name, address = email.utils.parseaddr(value)
            if "@" in address:
                found.append(address.lower())
    return found


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def mailing_by_keys(*, original: OriginalMessage) -> Mailing | None:
    keys = Q()
    if original.message_id:
        keys |= Q(kind=MailingKey.Kind.MESSAGE_ID, value=original.message_id[:255])
    for queue_id in original.queue_ids:
        keys |= Q(kind=MailingKey.Kind.QUEUE_ID, value=queue_id[:255])
    if not keys:
        return None
    key = MailingKey.objects.select_related("mailing__subscriber").filter(keys).first()
    return key.mailing if key else None


def mailing_find_or_create(
    *, subscriber: Subscriber, original: OriginalMessage, at: datetime, source: str
) -> tuple[Mailing, str]:
    """The mailing a report belongs to, creating one when none matches.

    The caller holds a row lock on the subscriber, so two workers cannot both
    create the same mailing.
    """
    known = mailing_by_keys(original=original)
    if known and known.subscriber_id == subscriber.pk:
        return known, "known Message-ID or queue id"
    subject = normalize_subject(original.subject)
    window = timedelta(hours=settings.ABUSE_MAILING_WINDOW_HOURS)
    same_subject = (
        Mailing.objects.filter(
            subscriber=subscriber,
            normalized_subject=subject,
            last_seen__gte=at - window,
            first_seen__lte=at + window,
        )
        .order_by("-last_seen")
        .first()
    )
    if same_subject:
        _remember_keys(same_subject, original)
        return same_subject, "same subject within the window"
    mailing = Mailing.objects.create(
        subscriber=subscriber,
        sender=(original.from_ or original.mail_from or "")[:254],
        subject=(original.subject or "")[:998],
        normalized_subject=subject,
        first_seen=at,
        last_seen=at,
        source=source,
    )
    _remember_keys(mailing, original)
    return mailing, "new mailing learned from reports"


def _remember_keys(mailing: Mailing, original: OriginalMessage) -> None:
    keys = [(MailingKey.Kind.QUEUE_ID, q[:255]) for q in original.queue_ids]
    if original.message_id:
        keys.append((MailingKey.Kind.MESSAGE_ID, original.message_id[:255]))
    if keys:
        MailingKey.objects.bulk_create(
            [
                MailingKey(mailing=mailing, kind=kind, value=value)
                for kind, value in keys
            ],
            ignore_conflicts=True,
        )


def mailing_touch(*, mailing: Mailing, at: datetime) -> None:
    """Widen the mailing's seen window to include ``at``."""
    Mailing.objects.filter(pk=mailing.pk, last_seen__lt=at).update(last_seen=at)
    Mailing.objects.filter(pk=mailing.pk, first_seen__gt=at).update(first_seen=at)
