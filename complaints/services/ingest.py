"""Inbound mail, from stored bytes to complaints and bounces (DESIGN.md, steps 1–5).

``inbound_store`` is what every channel calls: it commits the raw message before
anything else and wakes a worker up after the commit (``wakeup``). The stored
pending rows are the queue: ``inbound_process_next`` claims the oldest batch no
other worker holds (``FOR UPDATE SKIP LOCKED``), ``inbound_process_many`` a batch
of given ids (staff's reprocess). Behind the row locks and a state guard either
parses the messages, links them, records the complaints and bounces and marks
the messages done, all in one transaction, so a second run, or a run after a
killed worker, writes nothing twice. A batch costs a few queries whatever its size.
"""

import functools
import hashlib
import logging
import re
import traceback
from datetime import datetime, timedelta

from django.conf import settings
from django.db import (
    DatabaseError,
    DataError,
    IntegrityError,
    connection,
    connections,
    transaction,
)
from django.db.models import F
from django.utils import timezone

from accounts.services.status import notices_redeliver
from complaints.exceptions import EmptyMessageError, MessageTooLargeError
from complaints.ingest import Kind, Report, classify
from complaints.ingest.autoreply import OWN_MARKER_HEADER
from complaints.ingest.parse import header_block
from complaints.ingest.sanitize import report_db_safe, text_db_safe
from complaints.models import InboundMessage, Mailing
from complaints.services import bulk, claims, linking, notices, recording
from complaints.services import strikes as strike_services
from complaints.services.wakeup import inbound_wake

logger = logging.getLogger(__name__)

_OWN_MARKER = re.compile(
    rb"^" + re.escape(OWN_MARKER_HEADER.encode()) + rb":", re.I | re.M
)
_MESSAGE_ID = re.compile(rb"^message-id:[ \t]*(.*?)\r?$", re.I | re.M)


def inbound_store(
    *,
    raw: bytes,
    channel: str,
    max_bytes: int | None = None,
    enqueue: bool = True,
    received_at: datetime | None = None,
) -> tuple[InboundMessage, bool]:
    """Commit one raw message and schedule its processing.

    Returns the row and whether it is new; the same bytes received again return
    the existing row (unique SHA-256), so a redelivery stores nothing twice.
    Raises MessageTooLargeError or EmptyMessageError before storing anything.
    Bulk channels pass ``enqueue=False`` and wake the workers once per batch.
    ``received_at`` is when the mail arrived, for mail that reaches the desk
    later than that (the demo's simulated mailbox); by default, now.
    """
    if not raw.strip():
        raise EmptyMessageError
    if max_bytes is not None and len(raw) > max_bytes:
        raise MessageTooLargeError(len(raw), max_bytes)
    digest = hashlib.sha256(raw).hexdigest()
    existing = InboundMessage.objects.filter(sha256=digest).defer("raw").first()
    if existing is not None:
        return existing, False
    try:
        with transaction.atomic():
            inbound = InboundMessage.objects.create(
                raw=raw,
                sha256=digest,
                size=len(raw),
                channel=channel,
                message_id=_message_id(raw),
                received_at=received_at or timezone.now(),
            )
            if enqueue:
                transaction.on_commit(inbound_wake, robust=True)
    except IntegrityError:
        # Another process stored the same bytes between the lookup and the insert.
        return InboundMessage.objects.defer("raw").get(sha256=digest), False
    # DEBUG: an MTA pipe may treat any output as failure, and bulk imports
    # would print a line per message.
    logger.debug("stored inbound %s via %s (%s bytes)", inbound.pk, channel, len(raw))
    return inbound, True


def inbound_store_many(*, raws: list[bytes], channel: str) -> list[tuple[int, bool]]:
    """Commit several raw messages in one transaction, with one wake-up after it;
    return each one's id and whether it is new, in order.

    For a channel that answers many senders at once (LMTP): one commit instead
    of one per message. The caller has refused empty and oversize messages
    already. The same bytes twice, or bytes already stored, give the existing
    row (the insert skips what the unique SHA-256 already holds, and only those
    are looked up). Where the insert cannot skip them (SQLite) and another
    process stores one of the same messages meanwhile, the batch is stored one
    message at a time.
    """
    digests = [hashlib.sha256(raw).hexdigest() for raw in raws]
    new: dict[str, bytes] = {}
    for raw, digest in zip(raws, digests, strict=True):
        new.setdefault(digest, raw)
    if _is_one_statement_transaction():
        # The insert alone is the transaction: in autocommit PostgreSQL commits
        # it when it returns, without the BEGIN and COMMIT round trips, each a
        # wait (and a wake-up) for the storing thread. The look-up of the
        # known ones only reads committed rows, so it may come after.
        known = _inbound_insert_new(new, channel=channel, at=timezone.now())
        inserted = set(known)
        if inserted:
            # Outside a transaction Django runs it at once (robust: logged).
            transaction.on_commit(inbound_wake, robust=True)
        if len(inserted) < len(new):
            known.update(_inbound_ids(d for d in new if d not in inserted))
    else:
        try:
            with transaction.atomic():
                known = _inbound_insert_new(new, channel=channel, at=timezone.now())
                inserted = set(known)
                if len(inserted) < len(new):
                    known.update(_inbound_ids(d for d in new if d not in inserted))
                if inserted:
                    transaction.on_commit(inbound_wake, robust=True)
        except IntegrityError:
            stored = [inbound_store(raw=raw, channel=channel) for raw in raws]
            return [(inbound.pk, created) for inbound, created in stored]
    results, answered = [], set()
    for digest in digests:
        results.append((known[digest], digest in inserted and digest not in answered))
        answered.add(digest)
    return results


def _is_one_statement_transaction() -> bool:
    """Whether one statement on the default connection commits by itself: on
    PostgreSQL (whose insert skips known bytes, so it cannot fail on them),
    in autocommit and outside any ``atomic`` block."""
    return (
        connection.vendor == "postgresql"
        and not connection.in_atomic_block
        and connection.get_autocommit()
    )


def _inbound_ids(digests) -> dict[str, int]:
    return dict(
        InboundMessage.objects.filter(sha256__in=list(digests)).values_list(
            "sha256", "pk"
        )
    )


# What differs between the messages of one store; every other column holds the
# same value for all of them (the channel, the time, the model's defaults).
_PER_MESSAGE = ("raw", "sha256", "size", "message_id")


def _inbound_insert_new(
    raws: dict[str, bytes], *, channel: str, at: datetime
) -> dict[str, int]:
    """Insert the messages (by digest) whose bytes are not stored yet; return
    the id of each one inserted, by digest.

    On PostgreSQL one ``INSERT … SELECT … FROM (VALUES …) ON CONFLICT DO
    NOTHING``: no look-up first, a row of parameters per message for the
    columns that differ and one value for each of the others. The shared
    values come from a model instance, so a new field with a default needs
    nothing here. See ``bulk.server_bound_fetchall`` for how it is sent.
    """
    if connection.vendor != "postgresql":
        template = InboundMessage(channel=channel, received_at=at)
        stored = set(
            InboundMessage.objects.filter(sha256__in=list(raws)).values_list(
                "sha256", flat=True
            )
        )
        rows = [
            _row_like(template, raw, digest)
            for digest, raw in raws.items()
            if digest not in stored
        ]
        InboundMessage.objects.bulk_create(rows)
        return {row.sha256: row.pk for row in rows}
    db = connection  # one look-up of the thread's connection, not one per value
    statement = _insert_statement(db, len(raws))
    # In the statement's order: the shared values, then a row per message.
    values = _shared_values(db, channel, at)
    for digest, raw in raws.items():
        values += (raw, digest, len(raw), _message_id(raw))
    rows = bulk.server_bound_fetchall(db, statement, values, prepare=True)
    return {digest: pk for pk, digest in rows}


def _row_like(template: InboundMessage, raw: bytes, digest: str) -> InboundMessage:
    return InboundMessage(
        raw=raw,
        sha256=digest,
        size=len(raw),
        channel=template.channel,
        message_id=_message_id(raw),
        received_at=template.received_at,
    )


def _shared_fields() -> tuple:
    return tuple(
        f
        for f in InboundMessage._meta.concrete_fields
        if not f.primary_key and f.attname not in _PER_MESSAGE
    )


@functools.cache
def _shared_template(alias: str, channel: str) -> tuple[tuple, int | None]:
    """The shared columns' values for a channel, as the database takes them,
    but the arrival time; and where the time goes among them (None when the
    model's defaults must be computed per store: a callable default)."""
    db = connections[alias]
    fields = _shared_fields()
    if any(f.has_default() and callable(f.default) for f in fields):
        return (), None
    template = InboundMessage(channel=channel, received_at=None)
    values = tuple(f.get_db_prep_save(getattr(template, f.attname), db) for f in fields)
    at = [f.attname for f in fields].index("received_at")
    return values, at


def _shared_values(db, channel: str, at: datetime) -> list:
    """The shared columns' values, built once per channel and process: only the
    arrival time changes from one store to the next."""
    values, where = _shared_template(db.alias, channel)
    if where is None:
        template = InboundMessage(channel=channel, received_at=at)
        return [
            f.get_db_prep_save(getattr(template, f.attname), db)
            for f in _shared_fields()
        ]
    shared = list(values)
    received_at = InboundMessage._meta.get_field("received_at")
    shared[where] = received_at.get_db_prep_save(at, db)
    return shared


@functools.lru_cache(maxsize=256)
def _insert_statement_for(alias: str, rows: int) -> str:
    db = connections[alias]
    fields = {
        f.attname: f for f in InboundMessage._meta.concrete_fields if not f.primary_key
    }
    quote = db.ops.quote_name
    # The raw bytes go in binary (%b): no escaping on either side.
    row = ", ".join(
        f"%{'b' if name == 'raw' else 's'}::{fields[name].db_type(db)}"
        for name in _PER_MESSAGE
    )
    columns = [fields[name].column for name in _PER_MESSAGE]
    selected = [f"v.{quote(column)}" for column in columns]
    for field in _shared_fields():
        columns.append(field.column)
        selected.append(f"%s::{field.db_type(db)}")
    return (
        f"INSERT INTO {quote(InboundMessage._meta.db_table)}"  # noqa: S608  (the model's own names)
        f" ({', '.join(quote(c) for c in columns)})"
        f" SELECT {', '.join(selected)}"
        f" FROM (VALUES {', '.join([f'({row})'] * rows)})"
        f" AS v({', '.join(quote(c) for c in columns[: len(_PER_MESSAGE)])})"
        " ON CONFLICT (sha256) DO NOTHING RETURNING id, sha256"
    )


def _insert_statement(db, rows: int) -> str:
    """The insert's text for so many messages, built once per process and count
    (psycopg prepares each text on its own)."""
    return _insert_statement_for(db.alias, rows)


def _message_id(raw: bytes) -> str:
    match = _MESSAGE_ID.search(header_block(raw))
    if not match:
        return ""
    # A NUL here once made every channel answer "database unavailable" for ever.
    return text_db_safe(match.group(1).decode("ascii", "replace")).strip()[:998]


def inbound_sweep(*, now: datetime | None = None) -> int:
    """Wake a worker when messages are left pending longer than
    ABUSE_PENDING_SWEEP_MINUTES (a lost wake-up must not lose a complaint), and
    return how many there are. Safe to run any time: a drainer finding nothing
    to claim stops, and the state guard makes a message processed once."""
    now = now or timezone.now()
    cutoff = now - timedelta(minutes=settings.ABUSE_PENDING_SWEEP_MINUTES)
    # Counted on the partial index of pending rows; capped, it only decides
    # whether to wake and what to log.
    waiting = (
        InboundMessage.objects.filter(
            state=InboundMessage.State.PENDING, received_at__lt=cutoff
        )
        .order_by()
        .values("pk")[:10_000]
        .count()
    )
    if waiting:
        # Forced: the key that coalesces wake-ups may belong to a lost job.
        inbound_wake(force=True)
        logger.info("sweep woke a worker for %s pending messages", waiting)
    _sweep_after_commit_work(now=now, cutoff=cutoff)
    return waiting


def _sweep_after_commit_work(*, now: datetime, cutoff: datetime) -> None:
    """What a batch does after its commit, redone for a worker that died there:
    the policy on recently active mailings, lost acknowledgments, and notices
    whose sending failed."""
    recent = Mailing.objects.filter(
        last_seen__gte=now - timedelta(days=2), state=Mailing.State.OPEN
    ).values_list("pk", flat=True)
    mailings_policy_apply(mailing_ids=list(recent[:10_000]), now=now)
    late = notices.complaints_unacknowledged(
        now=now, older_than=now - cutoff, within=timedelta(days=2)
    )
    if late:
        notices.complaints_acknowledge_enqueue(complaint_ids=late)
    notices_redeliver(now=now, older_than=now - cutoff, within=timedelta(days=2))


def inbound_process(*, inbound_id: int, now: datetime | None = None) -> str | None:
    """Process one stored message; return its new state, or None when it was not
    pending (already processed, or another worker holds it)."""
    return inbound_process_many(inbound_ids=[inbound_id], now=now).get(inbound_id)


def inbound_process_many(
    *, inbound_ids: list[int], now: datetime | None = None
) -> dict[int, str]:
    """Parse, link and record a batch of stored messages; return the new state of
    each message this call processed.

    One transaction for the batch. A lost connection, a deadlock or a server
    shutting down (OperationalError, InterfaceError and other database errors)
    rolls it back and propagates so RQ retries. Two kinds of failure no retry
    fixes: the database refusing a message's data (DataError, IntegrityError),
    and any other error, which is a bug. The batch is then processed one
    message at a time, so one poisoned message cannot hold the others hostage,
    and the message that fails alone is marked failed with the reason, for staff
    to reprocess once it is fixed.
    """
    now = now or timezone.now()
    return _process_guarded(
        lambda claimed: _process_batch(now, claimed, inbound_ids=inbound_ids), now
    )


def inbound_process_next(*, limit: int, now: datetime | None = None) -> dict[int, str]:
    """Claim the oldest ``limit`` pending messages that no other worker holds and
    process them as ``inbound_process_many`` does; return the new state of each.
    An empty answer means nothing was left to claim.

    The claim is committed before the batch (``claims``): a batch whose worker
    dies is taken over later, its messages one at a time, and a message that
    keeps killing workers ends failed instead of stalling the queue. When the
    batch falls back to one message at a time, its claim is left to expire:
    by then nothing it names is pending."""
    now = now or timezone.now()
    claim = claims.inbound_claim(limit=limit, now=now)
    if claim is None:
        return {}
    return _process_guarded(
        lambda claimed: _process_batch(
            now, claimed, inbound_ids=claim.inbound_ids, claim=claim
        ),
        now,
    )


def _process_guarded(process, now: datetime) -> dict[int, str]:
    """Run one batch transaction (``process`` records the ids it claimed), and
    on a failure no retry fixes, process what it claimed one message at a time."""
    claimed: list[int] = []
    try:
        return process(claimed)
    except DatabaseError as exc:
        if not isinstance(exc, DataError | IntegrityError):
            raise
        failure, error = "Refused by the database", exc
    except Exception as exc:  # noqa: BLE001 - a bug must not stop the queue
        failure, error = "Internal error", exc
    if len(claimed) > 1:
        logger.error(
            "batch failed (%s); processing its messages one by one",
            failure,
            exc_info=error,
        )
        states = {}
        for inbound_id in claimed:
            states.update(inbound_process_many(inbound_ids=[inbound_id], now=now))
        return states
    if not claimed:  # failed before its claim: nothing of its own to mark
        raise error
    logger.error("inbound %s failed: %s", claimed[0], failure, exc_info=error)
    return _mark_failed(claimed[0], now, f"{failure}: {_trace(error)}")


def _trace(exc: BaseException) -> str:
    text = "".join(traceback.format_exception(exc, limit=3))[-2000:]
    return text_db_safe(text)


def _mark_failed(inbound_id: int, now: datetime, error: str) -> dict[int, str]:
    updated = InboundMessage.objects.filter(
        pk=inbound_id, state=InboundMessage.State.PENDING
    ).update(
        state=InboundMessage.State.FAILED,
        error=error,
        processed_at=now,
        claims=0,
    )
    return {inbound_id: InboundMessage.State.FAILED} if updated else {}


def _process_batch(
    now: datetime,
    claimed: list[int],
    *,
    inbound_ids: list[int],
    claim: claims.Claim | None = None,
) -> dict[int, str]:
    with transaction.atomic():
        if claim is not None and not claims.inbound_claim_hold(claim):
            return {}
        # Rows another worker holds are skipped, not waited for: it is
        # processing them, and the state guard turns them away once it commits.
        # Claimed rows are ours: another drainer's claim may hold them for a
        # moment (it looks, then lets go of what a claim names), so we wait.
        pending = InboundMessage.objects.select_for_update(
            skip_locked=claim is None, no_key=True
        ).filter(state=InboundMessage.State.PENDING, pk__in=inbound_ids)
        inbounds = list(pending.order_by("pk"))
        claimed.extend(inbound.pk for inbound in inbounds)
        if not inbounds:
            if claim is not None:  # another worker took them meanwhile
                claims.inbound_claim_done(claim)
            return {}
        items = []
        for inbound in inbounds:
            item = _parse(inbound)
            if item is not None:
                items.append(item)
        mailing_ids = _record(items)
        _states_save(inbounds, now)
        if claim is not None:
            claims.inbound_claim_done(claim)
    # After the commit, in transactions of its own: the policy locks subscriber
    # then mailing, the order staff's clicks use; inside the batch it would hold
    # mailing locks while waiting for subscribers. A crash in between is
    # caught up by the sweep.
    mailings_policy_apply(mailing_ids=mailing_ids, now=now)
    return {inbound.pk: inbound.state for inbound in inbounds}


def _states_save(inbounds: list[InboundMessage], now: datetime) -> None:
    """One UPDATE per distinct outcome (a batch has a handful), not per row."""
    groups: dict[tuple[str, str, str, bool], list[int]] = {}
    for inbound in inbounds:
        key = (inbound.state, inbound.kind, inbound.error, inbound.is_cut)
        groups.setdefault(key, []).append(inbound.pk)
    for (state, kind, error, is_cut), ids in groups.items():
        InboundMessage.objects.filter(pk__in=ids).update(
            state=state,
            kind=kind,
            error=error,
            is_cut=is_cut,
            processed_at=now,
            attempts=F("attempts") + 1,
            claims=0,
        )


def _parse(inbound: InboundMessage) -> recording.Item | None:
    """Classify one message and decide its state; return it for recording when it
    carries a complaint or bounces."""
    # The one place text from the wire is made safe for PostgreSQL: every field
    # recorded below comes from this report.
    report = report_db_safe(
        classify(bytes(inbound.raw), trace_header=settings.ABUSE_TRACE_HEADER)
    )
    inbound.kind = str(report.kind)
    inbound.is_cut = report.is_cut
    if report.error:
        inbound.state = InboundMessage.State.FAILED
        inbound.error = f"Unreadable message: {report.error}"[:2000]
        return None
    # Auto-Submitted alone does not disqualify a complaint: many feedback loops
    # stamp their reports auto-generated. Only the desk's own mail coming back is
    # ignored, and automatic complaints are never acknowledged (recording).
    recordable = (report.kind == Kind.COMPLAINT and not _is_own_mail(inbound)) or (
        report.kind == Kind.BOUNCE and report.recipients
    )
    if not recordable:
        inbound.state = InboundMessage.State.IGNORED
        inbound.error = _ignored_because(report)
        return None
    inbound.state = InboundMessage.State.PROCESSED
    inbound.error = ""
    at = linking.report_time(report, fallback=inbound.received_at)
    return recording.Item(inbound=inbound, report=report, at=at)


def _is_own_mail(inbound: InboundMessage) -> bool:
    return _OWN_MARKER.search(header_block(bytes(inbound.raw[:65536]))) is not None


def _ignored_because(report: Report) -> str:
    if report.kind == Kind.COMPLAINT:
        return "The desk's own mail (X-Abuse-Desk-Generated): never a complaint."
    if report.feedback_type == "not-spam":
        return "A not-spam feedback report is not a complaint."
    if report.kind == Kind.BOUNCE:
        return "A bounce without any failed recipient."
    return f"Nothing to record for a message of kind {report.kind}."


def _record(items: list[recording.Item]) -> list[int]:
    if not items:
        return []
    recording.batch_link(items)
    tally = recording.Tally()
    recording.complaints_record(
        [i for i in items if i.report.kind == Kind.COMPLAINT], tally
    )
    recording.bounces_record([i for i in items if i.report.kind == Kind.BOUNCE], tally)
    return recording.mailings_count(tally, items)


def mailings_policy_apply(*, mailing_ids: list[int], now: datetime) -> None:
    """Hand mailings to the strike policy (automatic strikes, bounce storms). The
    unlocked pre-check skips the many on which nothing is due."""
    for mailing in Mailing.objects.filter(pk__in=mailing_ids).order_by("pk"):
        if strike_services.mailing_policy_due(mailing=mailing):
            strike_services.mailing_policy_apply(mailing=mailing, now=now)
