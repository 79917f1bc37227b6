"""Turning a batch of parsed reports into Complaint and Bounce rows (DESIGN.md,
step 5), linked to their subscriber and mailing, with the mailings' counters kept
exact.

Called by ``ingest.inbound_process_many`` inside its transaction, with the batch's
inbound rows locked. A mailing's ``complaint_count`` is the number of its
complaints in state ``linked``; its bounce counters count its Bounce rows.
"""

import hashlib
import json
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
from complaints.services import bulk, linking, notices

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
    # 32 letters: each random byte picks one uniformly (256 is a multiple of 32),
    # at a fraction of the cost of eight secrets.choice calls.
    chars = "".join(_REFERENCE_ALPHABET[b % 32] for b in secrets.token_bytes(8))
    return f"C-{chars[:4]}-{chars[4:]}"


@dataclass
class Item:
    """One message of the batch on its way through recording."""

    inbound: InboundMessage
    report: Report
    at: datetime
    subscriber_id: int | None = None
    mailing_id: int | None = None
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
    index = linking.LinkIndex.load(
        (item.original for item in items), times=(item.at for item in items)
    )
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
            ((i.mailing_id, i.link.keys) for i in linked if i.mailing_id is not None),
            known=index.by_key,
        )


class _Pool:
    """The candidate mailings of a batch's subscribers around its reports' times,
    by subscriber (grouping compares a report with its own subscriber's only)."""

    def __init__(self, window: timedelta, resend_window: timedelta) -> None:
        self.window = window
        self.resend_window = resend_window
        self.candidates: dict[int, grouping.Candidate] = {}
        self.by_subscriber: dict[int, list[grouping.Candidate]] = defaultdict(list)

    def load(self, items: list[Item]) -> None:
        """(Re)load the candidates as the database has them now."""
        self.candidates.clear()
        self.by_subscriber.clear()
        reach = max(self.window, self.resend_window)
        earliest = min(i.at for i in items) - reach
        latest = max(i.at for i in items) + reach
        keyed = {i.link.keyed_mailing_id for i in items if i.link.keyed_mailing_id}
        rows = (
            Mailing.objects.filter(
                Q(
                    subscriber_id__in={i.subscriber_id for i in items},
                    last_seen__gte=earliest,
                    first_seen__lte=latest,
                )
                | Q(pk__in=keyed)
            )
            .order_by()
            .values_list(
                "pk",
                "subscriber_id",
                "kind",
                "subject_variants",
                "normalized_subject",
                "first_seen",
                "last_seen",
                "signals",
            )
        )
        for pk, subscriber_id, kind, variants, subject, first, last, signals in rows:
            # A mailing staff merged away is closed; its keys went with it.
            if "merged_into" not in (signals or {}):
                self.add(
                    grouping.Candidate(
                        mailing_id=pk,
                        subscriber_id=subscriber_id,
                        kind=grouping.MailingKind(kind),
                        variants=list(variants or [subject]),
                        first_seen=first,
                        last_seen=last,
                    )
                )

    def add(self, candidate: grouping.Candidate) -> None:
        self.candidates[candidate.mailing_id] = candidate
        self.by_subscriber[candidate.subscriber_id].append(candidate)

    def choose(self, item: Item, shape: grouping.ReportShape) -> grouping.Choice:
        return grouping.choose(
            shape,
            self.by_subscriber.get(item.subscriber_id, ()),
            window=self.window,
            resend_window=self.resend_window,
        )

    def absorb(self, mailing_id: int, item: Item) -> None:
        candidate = self.candidates[mailing_id]
        candidate.first_seen = min(candidate.first_seen, item.at)
        candidate.last_seen = max(candidate.last_seen, item.at)
        candidate.variants = grouping.variants_add(
            candidate.variants, item.link.subject_key
        )


def _shape(item: Item) -> grouping.ReportShape:
    return grouping.ReportShape(
        subscriber_id=item.subscriber_id,
        at=item.at,
        subject_key=item.link.subject_key,
        shows_compromise=item.link.shows_compromise,
        keyed_mailing_id=item.link.keyed_mailing_id,
        needs_confirmation=item.link.needs_confirmation,
        is_owner_relayed=item.link.is_owner_relayed,
    )


def _group(items: list[Item]) -> None:
    pool = _Pool(
        timedelta(hours=settings.ABUSE_MAILING_WINDOW_HOURS),
        timedelta(days=settings.ABUSE_MAILING_RESEND_DAYS),
    )
    pool.load(items)
    shapes = [_shape(i) for i in items]
    if any(
        pool.choose(i, shape).mailing_id is None
        for i, shape in zip(items, shapes, strict=True)
    ):
        _lock_subscribers({i.subscriber_id for i in items})
        pool.load(items)  # what others created meanwhile
    for item, shape in zip(items, shapes, strict=True):
        choice = pool.choose(item, shape)
        if choice.how == grouping.UNCONFIRMED:
            item.subscriber_id = None
            item.note = (
                f"{item.note}, but no mailing of that subscriber matches and a "
                "bare sender address proves nothing (it may be forged)"
            )
            continue
        mailing_id = choice.mailing_id
        if mailing_id is None:
            mailing = _mailing_create(item, kind=choice.kind)
            mailing_id = mailing.pk
            pool.add(
                grouping.Candidate(
                    mailing_id=mailing.pk,
                    subscriber_id=mailing.subscriber_id,
                    kind=grouping.MailingKind(mailing.kind),
                    variants=list(mailing.subject_variants),
                    first_seen=mailing.first_seen,
                    last_seen=mailing.last_seen,
                )
            )
        pool.absorb(mailing_id, item)
        item.mailing_id = mailing_id
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
            complaint["message_id"],
            complaint["complainant_email"],
            complaint["original_recipient"],
        )
        fingerprint = complaint["report_fingerprint"]
        is_repeat = (fingerprint and fingerprint in seen_fingerprints) or (
            complaint["channel"] != Complaint.Channel.FEEDBACK_LOOP
            and complaint["message_id"]
            and complaint["complainant_email"]
            and key in seen_keys
        )
        mailing_id = complaint["mailing_id"]
        if is_repeat:
            complaint["state"] = Complaint.State.DUPLICATE
        elif mailing_id:
            complaint["state"] = Complaint.State.LINKED
            tally.complaints[mailing_id] += 1
            tally.seen[mailing_id].append(item.at)
        seen_keys.add(key)
        if fingerprint:
            seen_fingerprints.add(fingerprint)
        rows.append(complaint)
    ids = bulk.rows_insert(Complaint, rows)
    to_acknowledge = [
        pk for pk, row in zip(ids, rows, strict=True) if row["needs_acknowledgment"]
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
    each looked up on its own index, bounded by the batch's own reports."""
    fingerprints = {_report_fingerprint(i) for i in items} - {""}
    # Only a person's own repeat is looked up by Message-ID (the rule does not
    # apply to feedback loops): narrowed by the complainants, on the index of
    # both, so a bulk message's many copies are not read back.
    people: dict[str, set[str]] = defaultdict(set)
    for item in items:
        if (
            item.original.message_id
            and item.report.reporter
            and _channel(item.inbound, item.report) != Complaint.Channel.FEEDBACK_LOOP
        ):
            people[item.original.message_id[:998]].add(item.report.reporter[:254])
    known = set()
    if fingerprints:
        # The explicit "not empty" lets PostgreSQL use the partial index however
        # many fingerprints the batch holds (it proves the index's condition
        # from an IN list of at most 100 values only).
        known = set(
            Complaint.objects.filter(report_fingerprint__in=fingerprints)
            .exclude(report_fingerprint="")
            .values_list("report_fingerprint", flat=True)
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


def _complaint(item: Item) -> dict:
    """The complaint's row, as ``bulk.rows_insert`` takes it."""
    report, original = item.report, item.original
    rcpt = original.rcpt_to[0] if original.rcpt_to else (original.to or "")
    channel = _channel(item.inbound, report)
    complainant_email = (report.reporter or "")[:254]
    return dict(
        inbound_id=item.inbound.pk,
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
        mailing_id=item.mailing_id,
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
            if item.mailing_id is not None and sent_to not in mailed:
                mailed.add(sent_to)
                counter = tally.hard if recipient.is_hard else tally.soft
                counter[item.mailing_id] += 1
        if item.mailing_id is not None and seen:
            tally.seen[item.mailing_id].append(item.at)
    bulk.rows_insert(Bounce, rows)


def _bounce(item: Item, recipient, address: str) -> dict:
    code = recipient.reply_code
    return dict(
        inbound_id=item.inbound.pk,
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
        mailing_id=item.mailing_id,
        is_forged=bool(item.link and item.link.attribution.is_forged),
    )


def mailings_count(tally: Tally, items: list[Item] = ()) -> list[int]:
    """Add the batch's counts to its mailings and widen their seen windows, fold
    the reports' subjects and signals into their mailings and judge the
    compromise suspicion: one UPDATE joined to a VALUES list for all of them.
    Returns the ids of the mailings touched."""
    ids = sorted(set(tally.seen) | {i.mailing_id for i in items if i.mailing_id})
    if not ids:
        return []
    # Lock the rows in id order first: the joined UPDATE alone would lock them in
    # whatever order its plan visits them, and two batches could deadlock.
    locked = list(
        Mailing.objects.select_for_update(no_key=True)
        .filter(pk__in=ids)
        .order_by("pk")
        .values_list(
            "pk",
            "subject_variants",
            "signals",
            "is_likely_compromised",
            "compromise_reason",
        )
    )
    described = _mailings_describe(locked, items)
    _mailings_update(tally, described)
    return ids


@dataclass
class _Described:
    """A mailing's subject variants, signals and suspicion after the batch;
    ``changed`` when they differ from what the row holds."""

    variants: list
    signals: dict
    is_likely_compromised: bool
    compromise_reason: str
    changed: bool


def _mailings_describe(locked: list[tuple], items: list[Item]) -> dict[int, _Described]:
    by_mailing: dict[int, list[Item]] = defaultdict(list)
    for item in items:
        if item.mailing_id is not None and item.link is not None:
            by_mailing[item.mailing_id].append(item)
    described = {}
    for pk, stored_variants, stored_signals, is_compromised, reason in locked:
        variants = list(stored_variants or [])
        signals = dict(stored_signals or {})
        for item in by_mailing.get(pk, ()):
            variants = grouping.variants_add(variants, item.link.subject_key)
            signals = grouping.signals_add(signals, item.link.signals(item.original))
        if (variants, signals) == (stored_variants, stored_signals):
            described[pk] = _Described(
                stored_variants, stored_signals, is_compromised, reason, False
            )
            continue
        found = grouping.suspicion(signals=signals, variants=variants)
        if found.is_likely_compromised or not is_compromised:
            is_compromised = found.is_likely_compromised
            reason = found.reason[:255]
        described[pk] = _Described(variants, signals, is_compromised, reason, True)
    return described


def _mailings_update(tally: Tally, described: dict[int, _Described]) -> None:
    """The counters added and, where they changed, the description written, for
    every mailing of the batch in one statement."""
    adapt = connection.ops.adapt_datetimefield_value
    rows = []
    for pk, new in described.items():
        seen = tally.seen.get(pk)
        rows.append(
            (
                pk,
                tally.complaints[pk],
                tally.hard[pk],
                tally.soft[pk],
                adapt(min(seen)) if seen else None,
                adapt(max(seen)) if seen else None,
                new.changed,
                json.dumps(new.variants) if new.changed else None,
                json.dumps(new.signals) if new.changed else None,
                new.is_likely_compromised,
                new.compromise_reason,
            )
        )
    if not rows:
        return
    # Portable SQL: a named CTE of VALUES works on PostgreSQL and SQLite alike;
    # the two-argument min/max functions and the JSON type are spelt differently.
    # A mailing with nothing seen (only duplicates) keeps its window.
    postgres = connection.vendor == "postgresql"
    least, greatest = ("LEAST", "GREATEST") if postgres else ("MIN", "MAX")
    as_json = "CAST({} AS jsonb)" if postgres else "{}"
    as_time = "CAST({} AS timestamptz)" if postgres else "{}"
    t = Mailing._meta.db_table
    if postgres:
        # One array per column: the statement's text is the same for every
        # batch, so the driver need not parse a new one with a thousand
        # placeholders each time.
        source = _UNNEST_ROWS
        params = [list(column) for column in zip(*rows, strict=True)]
    else:
        source = "VALUES " + ", ".join(
            ["(" + ", ".join(["%s"] * len(rows[0])) + ")"] * len(rows)
        )
        params = [value for row in rows for value in row]
    sql = (
        f"WITH v(id, c, h, s, f, l, changed, variants, signals, compromised, reason)"  # noqa: S608  (no input in the SQL text)
        f" AS ({source}) "
        f"UPDATE {t} SET "
        f"complaint_count = {t}.complaint_count + v.c, "
        f"hard_bounce_count = {t}.hard_bounce_count + v.h, "
        f"soft_bounce_count = {t}.soft_bounce_count + v.s, "
        f"first_seen = {least}({t}.first_seen, "
        f"COALESCE({as_time.format('v.f')}, {t}.first_seen)), "
        f"last_seen = {greatest}({t}.last_seen, "
        f"COALESCE({as_time.format('v.l')}, {t}.last_seen)), "
        f"subject_variants = CASE WHEN v.changed THEN {as_json.format('v.variants')}"
        f" ELSE {t}.subject_variants END, "
        f"signals = CASE WHEN v.changed THEN {as_json.format('v.signals')}"
        f" ELSE {t}.signals END, "
        f"is_likely_compromised = v.compromised, "
        f"compromise_reason = v.reason "
        f"FROM v WHERE {t}.id = v.id"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


# The rows of ``_mailings_update`` as PostgreSQL reads them: one array per
# column (id, three counters, two times, changed, variants, signals,
# compromised, reason).
_UNNEST_ROWS = (
    "SELECT * FROM unnest(CAST(%s AS bigint[]), CAST(%s AS integer[]),"
    " CAST(%s AS integer[]), CAST(%s AS integer[]), CAST(%s AS timestamptz[]),"
    " CAST(%s AS timestamptz[]), CAST(%s AS boolean[]), CAST(%s AS text[]),"
    " CAST(%s AS text[]), CAST(%s AS boolean[]), CAST(%s AS text[]))"
)
