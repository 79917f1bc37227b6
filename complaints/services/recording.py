"""Turning a batch of parsed reports into Complaint and Bounce rows (DESIGN.md,
step 5), linked to their subscriber and mailing, with the mailings' counters kept
exact.

Called by ``ingest.inbound_process_many`` inside its transaction, with the batch's
inbound rows locked. A mailing's ``complaint_count`` is the number of its
complaints in state ``linked``; its bounce counters count its Bounce rows.
"""

import re
import secrets
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction

from accounts.models import Subscriber, is_ip_address
from complaints.ingest import ComplaintSource, Kind, OriginalMessage, Report
from complaints.ingest.parse import header_block
from complaints.models import Bounce, Complaint, InboundMessage, Mailing
from complaints.services import linking, notices

# Unambiguous characters for references people read out on the phone.
_REFERENCE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
# The public form stamps the reference it showed the complainant on the message
# it stores, so the complaint carries the same one.
REFERENCE_HEADER = "X-Abuse-Desk-Reference"
_REFERENCE = re.compile(
    rb"^x-abuse-desk-reference:[ \t]*(C-[A-Z0-9]{4}-[A-Z0-9]{4})[ \t]*\r?$", re.I | re.M
)


def reference_new() -> str:
    """A complaint reference people can read out: C-XXXX-XXXX (about 10^12 values;
    the unique constraint catches the rare clash)."""
    chars = "".join(secrets.choice(_REFERENCE_ALPHABET) for _ in range(8))
    return f"C-{chars[:4]}-{chars[4:]}"


@dataclass
class Item:
    """One message of the batch on its way through recording."""

    inbound: InboundMessage
    report: Report
    at: datetime
    subscriber_id: int | None = None
    mailing: Mailing | None = None
    note: str = ""

    @property
    def original(self) -> OriginalMessage:
        return self.report.original or OriginalMessage()


@dataclass
class Tally:
    """What the batch adds to each mailing."""

    complaints: Counter = field(default_factory=Counter)
    hard: Counter = field(default_factory=Counter)
    soft: Counter = field(default_factory=Counter)
    seen: dict[int, list[datetime]] = field(default_factory=lambda: defaultdict(list))


def batch_link(items: list[Item]) -> None:
    """Set subscriber and mailing on every item that can be linked.

    Lookups take no locks. Only items that need a new mailing lock their
    subscribers (in id order, the order every writer uses) and look again before
    creating it, so two workers never create the same mailing; most batches
    create none and so wait on no one.
    """
    index = linking.LinkIndex.load(item.original for item in items)
    for item in items:
        item.subscriber_id, item.note = index.subscriber_for(item.original, item.at)
    linked = [i for i in items if i.subscriber_id]
    if linked:
        _link_mailings(linked, index)
        linking.mailing_keys_remember((i.mailing.pk, i.original) for i in linked)


def _link_mailings(items: list[Item], index: linking.LinkIndex) -> None:
    window = timedelta(hours=settings.ABUSE_MAILING_WINDOW_HOURS)
    matcher = linking.MailingMatcher(window=window)
    keyed = {}
    for item in items:
        known = index.mailing_for_keys(item.original)
        if known and known[1] == item.subscriber_id:
            keyed[item.inbound.pk] = known[0]
    rest = [i for i in items if i.inbound.pk not in keyed]
    matcher.preload([_wanted(i) for i in rest])
    unmatched = [i for i in rest if matcher.find(*_wanted(i)) is None]
    if unmatched:
        _lock_subscribers({i.subscriber_id for i in unmatched})
        matcher.preload(
            [_wanted(i) for i in unmatched]
        )  # what others created meanwhile
    mailings = Mailing.objects.in_bulk(set(keyed.values()))
    for item in items:
        if item.inbound.pk in keyed:
            item.mailing = mailings[keyed[item.inbound.pk]]
            item.note += "; known Message-ID or queue id"
        else:
            item.mailing, how = matcher.match_or_create(
                wanted=_wanted(item), original=item.original, source=_source(item)
            )
            item.note += f"; {how}"


def _wanted(item: Item) -> tuple[int, str, datetime]:
    return item.subscriber_id, linking.normalize_subject(item.original.subject), item.at


def _source(item: Item) -> str:
    if item.report.kind == Kind.BOUNCE:
        return Mailing.Source.BOUNCES
    return Mailing.Source.COMPLAINTS


def _lock_subscribers(ids: set[int]) -> None:
    # Every lock in the desk is FOR NO KEY UPDATE (no_key=True): it still
    # serialises writers, but does not block the FOR KEY SHARE that PostgreSQL's
    # deferred foreign-key checks take at COMMIT, which would deadlock a batch
    # inserting complaints against a staff action holding their subscriber.
    list(
        Subscriber.objects.select_for_update(no_key=True)
        .filter(pk__in=ids)
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def complaints_record(items: list[Item], tally: Tally) -> None:
    """One Complaint per item. A report of a message its complainant already
    reported is a duplicate: kept, never counted again."""
    repeated = _already_reported(items)
    rows = []
    for item in items:
        complaint = _complaint(item)
        key = (
            complaint.message_id,
            complaint.complainant_email,
            complaint.original_recipient,
        )
        if complaint.message_id and complaint.complainant_email and key in repeated:
            complaint.state = Complaint.State.DUPLICATE
        elif complaint.mailing_id:
            complaint.state = Complaint.State.LINKED
            tally.complaints[complaint.mailing_id] += 1
            tally.seen[complaint.mailing_id].append(item.at)
        repeated.add(key)
        rows.append(complaint)
    Complaint.objects.bulk_create(rows)
    # RFC 3834: nothing automatic is answered, and feedback loops are machines.
    to_acknowledge = [
        complaint.pk
        for complaint, item in zip(rows, items, strict=True)
        if complaint.channel != Complaint.Channel.FEEDBACK_LOOP
        and complaint.complainant_email
        and not item.report.is_auto_submitted
    ]
    if to_acknowledge:
        # Mail goes out from its own job: a slow SMTP server must not hold up
        # the ingest, and a failed send is retried without reprocessing.
        transaction.on_commit(
            lambda: notices.complaints_acknowledge_enqueue(
                complaint_ids=to_acknowledge
            ),
            robust=True,
        )


def _already_reported(items: list[Item]) -> set[tuple[str, str, str]]:
    message_ids = {i.original.message_id[:998] for i in items if i.original.message_id}
    if not message_ids:
        return set()
    return set(
        Complaint.objects.filter(message_id__in=message_ids).values_list(
            "message_id", "complainant_email", "original_recipient"
        )
    )


def _complaint(item: Item) -> Complaint:
    report, original = item.report, item.original
    rcpt = original.rcpt_to[0] if original.rcpt_to else (original.to or "")
    return Complaint(
        inbound=item.inbound,
        reference=_reference_for(item.inbound),
        channel=_channel(item.inbound, report),
        received_at=item.inbound.received_at,
        complainant_email=(report.reporter or "")[:254],
        feedback_type=(report.feedback_type or "")[:32],
        user_agent=(report.user_agent or "")[:255],
        message_id=(original.message_id or "")[:998],
        mail_from=(original.mail_from or "")[:998],
        header_from=(original.from_ or "")[:998],
        subject=(original.subject or "")[:998],
        date_header=(original.date or "")[:255],
        source_ip=original.source_ip if is_ip_address(original.source_ip) else None,
        original_recipient=rcpt[:998],
        arrival_date=linking.parse_date(original.arrival_date),
        login=(original.login or "")[:254],
        subscriber_id=item.subscriber_id,
        mailing=item.mailing,
        state=Complaint.State.NEW,
        link_note=item.note[:255],
    )


def _reference_for(inbound: InboundMessage) -> str:
    if inbound.channel == InboundMessage.Channel.WEB_FORM:
        match = _REFERENCE.search(header_block(bytes(inbound.raw[:65536])))
        if match:
            return match.group(1).decode("ascii").upper()
    return reference_new()


def _channel(inbound: InboundMessage, report: Report) -> str:
    if inbound.channel == InboundMessage.Channel.WEB_FORM:
        return Complaint.Channel.WEB_FORM
    if report.complaint_source == ComplaintSource.FEEDBACK_LOOP:
        return Complaint.Channel.FEEDBACK_LOOP
    return Complaint.Channel.EMAIL


def bounces_record(items: list[Item], tally: Tally) -> None:
    """One Bounce per failed recipient of each report."""
    rows = []
    for item in items:
        seen = set()
        # The bogus-address rule counts the addresses the subscriber mailed:
        # two final recipients of one alias are one bogus address.
        mailed = set()
        for recipient in item.report.recipients:
            address = recipient.address.strip().lower()[:254]
            if not address or address in seen:
                continue
            seen.add(address)
            rows.append(_bounce(item, recipient, address))
            sent_to = recipient.sent_to.strip().lower()[:254]
            if item.mailing is not None and sent_to not in mailed:
                mailed.add(sent_to)
                counter = tally.hard if recipient.is_hard else tally.soft
                counter[item.mailing.pk] += 1
        if item.mailing is not None and seen:
            tally.seen[item.mailing.pk].append(item.at)
    Bounce.objects.bulk_create(rows)


def _bounce(item: Item, recipient, address: str) -> Bounce:
    code = recipient.reply_code
    return Bounce(
        inbound=item.inbound,
        received_at=item.inbound.received_at,
        address=address,
        original_address=(recipient.original_address or "")[:254],
        action=(recipient.action or "")[:16],
        status=(recipient.status or "")[:16],
        reply_code=code if code and 0 < code < 1000 else None,
        diagnostic=(recipient.diagnostic or "")[:1000],
        reason=recipient.reason[:32],
        is_hard=recipient.is_hard,
        message_id=(item.original.message_id or "")[:998],
        subscriber_id=item.subscriber_id,
        mailing=item.mailing,
    )


def mailings_count(tally: Tally) -> list[int]:
    """Add the batch's counts to its mailings and widen their seen windows, in one
    UPDATE joined to a VALUES list; returns the ids of the mailings touched."""
    ids = sorted(tally.seen)
    if not ids:
        return []
    # Lock the rows in id order first: the joined UPDATE alone would lock them in
    # whatever order its plan visits them, and two batches could deadlock.
    list(
        Mailing.objects.select_for_update(no_key=True)
        .filter(pk__in=ids)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    adapt = connection.ops.adapt_datetimefield_value
    rows = [
        (
            pk,
            tally.complaints[pk],
            tally.hard[pk],
            tally.soft[pk],
            adapt(min(tally.seen[pk])),
            adapt(max(tally.seen[pk])),
        )
        for pk in ids
    ]
    # Portable SQL: a named CTE of VALUES works on PostgreSQL and SQLite alike;
    # only the two-argument min/max functions are spelt differently.
    least, greatest = (
        ("LEAST", "GREATEST") if connection.vendor == "postgresql" else ("MIN", "MAX")
    )
    values = ", ".join(["(%s, %s, %s, %s, %s, %s)"] * len(rows))
    table = Mailing._meta.db_table
    sql = (
        f"WITH v(id, c, h, s, f, l) AS (VALUES {values}) "  # noqa: S608  (no input in the SQL text)
        f"UPDATE {table} SET "
        f"complaint_count = {table}.complaint_count + v.c, "
        f"hard_bounce_count = {table}.hard_bounce_count + v.h, "
        f"soft_bounce_count = {table}.soft_bounce_count + v.s, "
        f"first_seen = {least}({table}.first_seen, v.f), "
        f"last_seen = {greatest}({table}.last_seen, v.l) "
        f"FROM v WHERE {table}.id = v.id"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [value for row in rows for value in row])
    return ids
