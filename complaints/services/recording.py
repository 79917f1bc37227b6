"""Turning a batch of parsed reports into Complaint and Bounce rows (DESIGN.md,
step 5), linked to their subscriber and mailing, with the mailings' counters kept
exact.

Called by ``ingest.inbound_process_many`` inside its transaction, with the batch's
inbound rows locked. A mailing's ``complaint_count`` is the number of its
complaints in state ``linked``; its bounce counters count its Bounce rows.
"""

import hashlib
import re
import secrets
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q

from accounts.models import Subscriber, is_ip_address
from complaints.ingest import ComplaintSource, Kind, OriginalMessage, Report
from complaints.ingest.parse import header_block
from complaints.ingest.webform import (
    WITHOUT_EVIDENCE,
    WITHOUT_EVIDENCE_HEADER,
    complainant_words,
)
from complaints.linking import grouping
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
# A description filed without the message (the form stamps it).
_WITHOUT_EVIDENCE = re.compile(
    rb"^"
    + re.escape(WITHOUT_EVIDENCE_HEADER.encode())
    + rb":[ \t]*"
    + re.escape(WITHOUT_EVIDENCE.encode())
    + rb"[ \t]*\r?$",
    re.I | re.M,
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
    link: linking.Link | None = None

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
    create none and so wait on no one. Items are grouped in the order of their
    own time, so a batch groups alike whatever order its messages arrived in.
    """
    isp = linking.isp_network()
    index = linking.LinkIndex.load(item.original for item in items)
    for item in items:
        item.link = index.link_one(
            item.report, received_at=item.inbound.received_at, isp=isp
        )
        item.at = item.link.at
        item.subscriber_id = item.link.subscriber_id
        item.note = item.link.attribution.note
    # Reports that need a campaign to confirm them come after the ones that
    # can found it.
    linked = sorted(
        (i for i in items if i.subscriber_id),
        key=lambda i: (i.link.needs_confirmation, i.at, i.inbound.pk),
    )
    if linked:
        _group(linked)
        linking.mailing_keys_remember(
            (i.mailing.pk, i.original) for i in linked if i.mailing is not None
        )


class _Pool:
    """The candidate mailings of a batch's subscribers around its reports' times."""

    def __init__(self, window: timedelta) -> None:
        self.window = window
        self.mailings: dict[int, Mailing] = {}
        self.candidates: dict[int, grouping.Candidate] = {}

    def load(self, items: list[Item]) -> None:
        earliest = min(i.at for i in items) - self.window
        latest = max(i.at for i in items) + self.window
        keyed = {i.link.keyed_mailing_id for i in items if i.link.keyed_mailing_id}
        rows = Mailing.objects.filter(
            Q(
                subscriber_id__in={i.subscriber_id for i in items},
                last_seen__gte=earliest,
                first_seen__lte=latest,
            )
            | Q(pk__in=keyed)
        )
        for mailing in rows:
            # A mailing staff merged away is closed; its keys went with it.
            if "merged_into" not in (mailing.signals or {}):
                self.add(mailing)

    def add(self, mailing: Mailing) -> grouping.Candidate:
        self.mailings[mailing.pk] = mailing
        candidate = grouping.Candidate(
            mailing_id=mailing.pk,
            subscriber_id=mailing.subscriber_id,
            kind=grouping.MailingKind(mailing.kind),
            variants=list(mailing.subject_variants or [mailing.normalized_subject]),
            first_seen=mailing.first_seen,
            last_seen=mailing.last_seen,
        )
        self.candidates[mailing.pk] = candidate
        return candidate

    def choose(self, item: Item) -> grouping.Choice:
        shape = grouping.ReportShape(
            subscriber_id=item.subscriber_id,
            at=item.at,
            subject_key=item.link.subject_key,
            shows_compromise=item.link.shows_compromise,
            keyed_mailing_id=item.link.keyed_mailing_id,
            needs_confirmation=item.link.needs_confirmation,
        )
        return grouping.choose(shape, self.candidates.values(), window=self.window)

    def absorb(self, mailing_id: int, item: Item) -> None:
        candidate = self.candidates[mailing_id]
        candidate.first_seen = min(candidate.first_seen, item.at)
        candidate.last_seen = max(candidate.last_seen, item.at)
        candidate.variants = grouping.variants_add(
            candidate.variants, item.link.subject_key
        )


def _group(items: list[Item]) -> None:
    pool = _Pool(timedelta(hours=settings.ABUSE_MAILING_WINDOW_HOURS))
    pool.load(items)
    if any(pool.choose(i).mailing_id is None for i in items):
        _lock_subscribers({i.subscriber_id for i in items})
        pool.load(items)  # what others created meanwhile
    for item in items:
        choice = pool.choose(item)
        if choice.how == grouping.UNCONFIRMED:
            item.subscriber_id = None
            item.note = (
                f"{item.note}, but no mailing of that subscriber matches and a "
                "bare sender address proves nothing (it may be forged)"
            )
            continue
        if choice.mailing_id is None:
            mailing = _mailing_create(item, kind=choice.kind)
            pool.add(mailing)
        else:
            mailing = pool.mailings[choice.mailing_id]
        pool.absorb(mailing.pk, item)
        item.mailing = mailing
        item.note += f"; {choice.how}"


def _mailing_create(item: Item, *, kind: str) -> Mailing:
    original = item.original
    return Mailing.objects.create(
        subscriber_id=item.subscriber_id,
        sender=(original.from_ or original.mail_from or "")[:254],
        subject=(original.subject or "")[:998],
        normalized_subject=item.link.subject_key,
        subject_variants=[item.link.subject_key],
        kind=kind,
        first_seen=item.at,
        last_seen=item.at,
        source=_source(item),
    )


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
    """One Complaint per item. A report already recorded (the same feedback
    report sent again, or a person reporting the same message twice) is a
    duplicate: kept, never counted again. Two recipients' reports of one
    message are two complaints: their reported headers differ."""
    _duplicates_lock(items)
    seen_fingerprints, seen_keys = _already_reported(items)
    rows = []
    for item in items:
        complaint = _complaint(item)
        key = (
            complaint.message_id,
            complaint.complainant_email,
            complaint.original_recipient,
        )
        is_repeat = (
            complaint.report_fingerprint
            and complaint.report_fingerprint in seen_fingerprints
        ) or (
            complaint.channel != Complaint.Channel.FEEDBACK_LOOP
            and complaint.message_id
            and complaint.complainant_email
            and key in seen_keys
        )
        if is_repeat:
            complaint.state = Complaint.State.DUPLICATE
        elif complaint.mailing_id:
            complaint.state = Complaint.State.LINKED
            tally.complaints[complaint.mailing_id] += 1
            tally.seen[complaint.mailing_id].append(item.at)
        seen_keys.add(key)
        if complaint.report_fingerprint:
            seen_fingerprints.add(complaint.report_fingerprint)
        rows.append(complaint)
    Complaint.objects.bulk_create(rows)
    to_acknowledge = [c.pk for c in rows if c.needs_acknowledgment]
    if to_acknowledge:
        # Mail goes out from its own job: a slow SMTP server must not hold up
        # the ingest, and a failed send is retried without reprocessing.
        transaction.on_commit(
            lambda: notices.complaints_acknowledge_enqueue(
                complaint_ids=to_acknowledge
            ),
            robust=True,
        )


def needs_acknowledgment(
    *, channel: str, complainant_email: str, is_auto_submitted: bool
) -> bool:
    """Who gets an acknowledgment, decided once here and stored on the
    complaint: a person with an address. RFC 3834: nothing automatic is
    answered, and feedback loops are machines."""
    return (
        channel != Complaint.Channel.FEEDBACK_LOOP
        and bool(complainant_email)
        and not is_auto_submitted
    )


def _duplicates_lock(items: list[Item]) -> None:
    """Serialise writers on the same reports until commit, so two workers given
    the same report at once cannot both count it (PostgreSQL advisory locks,
    taken in a fixed order; SQLite has one writer at a time anyway)."""
    if connection.vendor != "postgresql":
        return
    # The exact keys the duplicate rule compares: a lock per Message-ID alone
    # would make every worker wait on every other one recording the same
    # bulk message, whose copies all carry it.
    keys = sorted(
        ({_report_fingerprint(i) for i in items} - {""})
        | {
            f"{i.original.message_id[:998]}\n{(i.report.reporter or '').lower()}"
            for i in items
            if i.original.message_id and i.report.reporter
        }
    )
    if not keys:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_advisory_xact_lock(hashtextextended(k, 7)))"
            " FROM (SELECT unnest(%s::text[]) AS k ORDER BY 1) AS wanted",
            [keys],
        )


def _already_reported(
    items: list[Item],
) -> tuple[set[str], set[tuple[str, str, str]]]:
    """Fingerprints and (Message-ID, complainant, recipient) already recorded,
    looked up by two indexed columns."""
    fingerprints = {_report_fingerprint(i) for i in items} - {""}
    # Only a person's own repeat is looked up by Message-ID: narrowed by the
    # complainants, so a bulk message's many copies are not read back.
    people = {
        i.original.message_id[:998]: set()
        for i in items
        if i.original.message_id and i.report.reporter
    }
    for item in items:
        if item.original.message_id and item.report.reporter:
            people[item.original.message_id[:998]].add(item.report.reporter[:254])
    known = set()
    if fingerprints:
        known = set(
            Complaint.objects.filter(report_fingerprint__in=fingerprints).values_list(
                "report_fingerprint", flat=True
            )
        )
    keys = set()
    if people:
        keys = set(
            Complaint.objects.filter(
                message_id__in=people,
                complainant_email__in=set().union(*people.values()),
            ).values_list("message_id", "complainant_email", "original_recipient")
        )
    return known, keys


def _complaint(item: Item) -> Complaint:
    report, original = item.report, item.original
    rcpt = original.rcpt_to[0] if original.rcpt_to else (original.to or "")
    channel = _channel(item.inbound, report)
    complainant_email = (report.reporter or "")[:254]
    return Complaint(
        inbound=item.inbound,
        reference=_reference_for(item.inbound),
        channel=channel,
        received_at=item.inbound.received_at,
        complainant_email=complainant_email,
        complainant_text=_words(item.inbound, channel),
        is_without_evidence=_without_evidence(item.inbound, channel),
        needs_acknowledgment=needs_acknowledgment(
            channel=channel,
            complainant_email=complainant_email,
            is_auto_submitted=report.is_auto_submitted,
        ),
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
        attribution=item.link.evidence() if item.link else {},
        is_forged=bool(item.link and item.link.attribution.is_forged),
        forged_reason=item.link.attribution.forged_reason if item.link else "",
        report_fingerprint=_report_fingerprint(item),
    )


def _report_fingerprint(item: Item) -> str:
    """The reported content as this reporter sent it: the same report sent again
    repeats it; another person's report of the same message does not."""
    if not item.original.fingerprint:
        return ""
    reporter = (item.report.reporter or "").lower()
    text = f"{reporter}\n{item.original.fingerprint}"
    return hashlib.sha256(text.encode(errors="replace")).hexdigest()


def _words(inbound: InboundMessage, channel: str) -> str:
    if channel != Complaint.Channel.WEB_FORM:
        return ""
    return complainant_words(bytes(inbound.raw))


def _without_evidence(inbound: InboundMessage, channel: str) -> bool:
    if channel != Complaint.Channel.WEB_FORM:
        return False
    return (
        _WITHOUT_EVIDENCE.search(header_block(bytes(inbound.raw[:65536]))) is not None
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
        is_forged=bool(item.link and item.link.attribution.is_forged),
    )


def mailings_count(tally: Tally, items: list[Item] = ()) -> list[int]:
    """Add the batch's counts to its mailings and widen their seen windows, in one
    UPDATE joined to a VALUES list; fold the reports' subjects and signals into
    their mailings and judge the compromise suspicion. Returns the ids of the
    mailings touched."""
    ids = sorted(set(tally.seen) | {i.mailing.pk for i in items if i.mailing})
    if not ids:
        return []
    # Lock the rows in id order first: the joined UPDATE alone would lock them in
    # whatever order its plan visits them, and two batches could deadlock.
    locked = list(
        Mailing.objects.select_for_update(no_key=True)
        .filter(pk__in=ids)
        .order_by("pk")
        .only("pk", "subject_variants", "signals", "is_likely_compromised")
    )
    _mailings_describe(locked, items)
    if tally.seen:
        _counters_add(tally)
    return ids


def _mailings_describe(mailings: list[Mailing], items: list[Item]) -> None:
    by_mailing: dict[int, list[Item]] = defaultdict(list)
    for item in items:
        if item.mailing is not None and item.link is not None:
            by_mailing[item.mailing.pk].append(item)
    changed = []
    for mailing in mailings:
        variants = list(mailing.subject_variants or [])
        signals = dict(mailing.signals or {})
        for item in by_mailing.get(mailing.pk, ()):
            variants = grouping.variants_add(variants, item.link.subject_key)
            signals = grouping.signals_add(signals, item.link.signals(item.original))
        if (variants, signals) == (mailing.subject_variants, mailing.signals):
            continue
        found = grouping.suspicion(signals=signals, variants=variants)
        mailing.subject_variants, mailing.signals = variants, signals
        if found.is_likely_compromised or not mailing.is_likely_compromised:
            mailing.is_likely_compromised = found.is_likely_compromised
            mailing.compromise_reason = found.reason[:255]
        changed.append(mailing)
    if changed:
        Mailing.objects.bulk_update(
            changed,
            [
                "subject_variants",
                "signals",
                "is_likely_compromised",
                "compromise_reason",
            ],
        )


def _counters_add(tally: Tally) -> None:
    ids = sorted(tally.seen)
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
