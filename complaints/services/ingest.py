"""Inbound mail, from stored bytes to complaints and bounces (DESIGN.md, steps 1–5).

``inbound_store`` is what every channel calls: it commits the raw message before
anything else and enqueues its processing after the commit. ``inbound_process``
runs in the worker: behind a row lock and a state guard it parses the message,
links it, records the complaint or bounces and marks the message done, all in one
transaction, so a second run, or a run after a killed worker, writes nothing twice.
"""

import hashlib
import logging
import re
import secrets
from datetime import datetime, timedelta

import redis
from django.conf import settings
from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from complaints.exceptions import EmptyMessageError, IngestError, MessageTooLargeError
from complaints.ingest import ComplaintSource, Kind, OriginalMessage, Report, classify
from complaints.models import Bounce, Complaint, InboundMessage, Mailing
from complaints.services import linking, notices

logger = logging.getLogger(__name__)

_MESSAGE_ID = re.compile(rb"^message-id:[ \t]*(.*?)\r?$", re.I | re.M)
# Unambiguous characters for references people read out on the phone.
_REFERENCE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def inbound_store(
    *, raw: bytes, channel: str, max_bytes: int | None = None, enqueue: bool = True
) -> tuple[InboundMessage, bool]:
    """Commit one raw message and schedule its processing.

    Returns the row and whether it is new; the same bytes received again return
    the existing row (unique SHA-256), so a redelivery stores nothing twice.
    Raises MessageTooLargeError or EmptyMessageError before storing anything.
    Bulk channels pass ``enqueue=False`` and enqueue ids in batches themselves.
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
                received_at=timezone.now(),
            )
            if enqueue:
                transaction.on_commit(
                    lambda: inbound_enqueue(inbound_ids=[inbound.pk]), robust=True
                )
    except IntegrityError:
        # Another process stored the same bytes between the lookup and the insert.
        return InboundMessage.objects.defer("raw").get(sha256=digest), False
    logger.info("stored inbound %s via %s (%s bytes)", inbound.pk, channel, len(raw))
    return inbound, True


def _message_id(raw: bytes) -> str:
    head = raw[: raw.find(b"\n\n") if b"\n\n" in raw[:65536] else 65536]
    match = _MESSAGE_ID.search(head)
    return match.group(1).decode("ascii", "replace").strip()[:998] if match else ""


def inbound_enqueue(*, inbound_ids: list[int]) -> bool:
    """Put processing jobs on the queue. A Redis outage is logged, not raised: the
    message is already committed and the periodic sweep will enqueue it later."""
    from complaints import jobs  # jobs import services; import at call time

    try:
        jobs.inbound_process_batch_job.delay(list(inbound_ids))
    except redis.exceptions.RedisError:
        logger.warning(
            "could not enqueue inbound %s; the sweep will retry", inbound_ids
        )
        return False
    return True


def inbound_sweep(*, now: datetime | None = None) -> int:
    """Re-enqueue messages left pending longer than ABUSE_PENDING_SWEEP_MINUTES
    (a lost Redis job must not lose a complaint). Safe to run any time: the state
    guard in inbound_process makes a duplicate job a no-op."""
    now = now or timezone.now()
    cutoff = now - timedelta(minutes=settings.ABUSE_PENDING_SWEEP_MINUTES)
    ids = list(
        InboundMessage.objects.filter(
            state=InboundMessage.State.PENDING, received_at__lt=cutoff
        ).values_list("pk", flat=True)[:10_000]
    )
    for start in range(0, len(ids), 200):
        inbound_enqueue(inbound_ids=ids[start : start + 200])
    if ids:
        logger.info("sweep re-enqueued %s pending messages", len(ids))
    return len(ids)


@transaction.atomic
def inbound_reprocess(*, inbound: InboundMessage) -> None:
    """Send a failed message through the pipeline again (staff's button)."""
    updated = InboundMessage.objects.filter(
        pk=inbound.pk, state=InboundMessage.State.FAILED
    ).update(state=InboundMessage.State.PENDING, error="")
    if updated:
        transaction.on_commit(
            lambda: inbound_enqueue(inbound_ids=[inbound.pk]), robust=True
        )


def inbound_process(*, inbound_id: int, now: datetime | None = None) -> str | None:
    """Parse, link and record one stored message; return its new state.

    One transaction behind a row lock: returns None at once when the message is
    not pending (already processed, or another worker holds it), so running it
    twice is harmless. IngestError marks the message failed. Database errors roll
    back and propagate, so RQ retries. Any other error is a bug that no retry
    fixes: the message is marked failed with it, for staff to reprocess later.
    """
    now = now or timezone.now()
    try:
        return _process_locked(inbound_id=inbound_id, now=now)
    except DatabaseError:
        raise
    except Exception as error:
        logger.exception("inbound %s failed with an internal error", inbound_id)
        InboundMessage.objects.filter(
            pk=inbound_id, state=InboundMessage.State.PENDING
        ).update(
            state=InboundMessage.State.FAILED,
            error=f"Internal error: {type(error).__name__}: {error}"[:2000],
            processed_at=now,
        )
        return InboundMessage.State.FAILED


def _process_locked(*, inbound_id: int, now: datetime) -> str | None:
    with transaction.atomic():
        inbound = (
            InboundMessage.objects.select_for_update(skip_locked=True)
            .filter(pk=inbound_id, state=InboundMessage.State.PENDING)
            .first()
        )
        if inbound is None:
            return None
        inbound.attempts += 1
        try:
            report = _parse(inbound)
            state, mailings = _record(inbound=inbound, report=report, now=now)
        except IngestError as error:
            state, mailings = InboundMessage.State.FAILED, []
            inbound.error = str(error)[:2000]
        inbound.state = state
        inbound.processed_at = now
        inbound.save(
            update_fields=["state", "kind", "error", "processed_at", "attempts"]
        )
        for mailing in mailings:
            _policy_apply(mailing=mailing, now=now)
    return state


def _parse(inbound: InboundMessage) -> Report:
    report = classify(bytes(inbound.raw), trace_header=settings.ABUSE_TRACE_HEADER)
    inbound.kind = str(report.kind)
    if report.error:
        raise IngestError(f"Unreadable message: {report.error}")
    return report


def _record(
    *, inbound: InboundMessage, report: Report, now: datetime
) -> tuple[str, list[Mailing]]:
    if report.kind == Kind.COMPLAINT and not report.is_auto_submitted:
        complaint = complaint_record(inbound=inbound, report=report, now=now)
        mailings = [complaint.mailing] if complaint.mailing_id else []
        return InboundMessage.State.PROCESSED, mailings
    if report.kind == Kind.BOUNCE and report.recipients:
        mailing = bounces_record(inbound=inbound, report=report, now=now)
        return InboundMessage.State.PROCESSED, [mailing] if mailing else []
    inbound.error = _ignored_because(report)
    return InboundMessage.State.IGNORED, []


def _ignored_because(report: Report) -> str:
    if report.kind == Kind.COMPLAINT:
        return "Automatic message (Auto-Submitted): never treated as a complaint."
    if report.feedback_type == "not-spam":
        return "A not-spam feedback report is not a complaint."
    if report.kind == Kind.BOUNCE:
        return "A bounce without any failed recipient."
    return f"Nothing to record for a message of kind {report.kind}."


def _link(*, report: Report, at: datetime, source: str) -> linking.Link:
    original = report.original or OriginalMessage()
    subscriber, how = linking.subscriber_find(original=original, at=at)
    if subscriber is None:
        return linking.Link(None, None, how)
    # Serialise reports about one subscriber so two workers never create the
    # same mailing twice or lose a counter update.
    subscriber = type(subscriber).objects.select_for_update().get(pk=subscriber.pk)
    mailing, mailing_how = linking.mailing_find_or_create(
        subscriber=subscriber, original=original, at=at, source=source
    )
    linking.mailing_touch(mailing=mailing, at=at)
    return linking.Link(subscriber, mailing, f"{how}; {mailing_how}")


def complaint_record(
    *, inbound: InboundMessage, report: Report, now: datetime
) -> Complaint:
    """Record the complaint a message carries, linked when possible. Idempotent
    by the one-complaint-per-message constraint."""
    existing = Complaint.objects.filter(inbound=inbound).first()
    if existing is not None:
        return existing
    original = report.original or OriginalMessage()
    at = linking.report_time(report.original, fallback=inbound.received_at)
    link = _link(report=report, at=at, source=Mailing.Source.COMPLAINTS)
    complaint = Complaint(
        inbound=inbound,
        reference=reference_new(),
        channel=_complaint_channel(inbound, report),
        received_at=inbound.received_at,
        complainant_email=(report.reporter or "")[:254],
        feedback_type=(report.feedback_type or "")[:32],
        user_agent=(report.user_agent or "")[:255],
        **_original_fields(original),
        subscriber=link.subscriber,
        mailing=link.mailing,
        link_note=link.note[:255],
    )
    complaint.state = _complaint_state(complaint)
    complaint.save()
    if complaint.state == Complaint.State.LINKED:
        Mailing.objects.filter(pk=complaint.mailing_id).update(
            complaint_count=F("complaint_count") + 1
        )
    if (
        complaint.channel != Complaint.Channel.FEEDBACK_LOOP
        and complaint.complainant_email
    ):
        transaction.on_commit(
            lambda: notices.complaint_acknowledge(complaint_id=complaint.pk),
            robust=True,
        )
    return complaint


def _complaint_channel(inbound: InboundMessage, report: Report) -> str:
    if inbound.channel == InboundMessage.Channel.WEB_FORM:
        return Complaint.Channel.WEB_FORM
    if report.complaint_source == ComplaintSource.FEEDBACK_LOOP:
        return Complaint.Channel.FEEDBACK_LOOP
    return Complaint.Channel.EMAIL


def _complaint_state(complaint: Complaint) -> str:
    """A complaint about a message the same person already reported is a
    duplicate: kept as evidence, not counted again."""
    if complaint.message_id and complaint.complainant_email:
        repeated = Complaint.objects.filter(
            message_id=complaint.message_id,
            complainant_email=complaint.complainant_email,
            original_recipient=complaint.original_recipient,
        ).exists()
        if repeated:
            return Complaint.State.DUPLICATE
    return Complaint.State.LINKED if complaint.mailing_id else Complaint.State.NEW


def _original_fields(original: OriginalMessage) -> dict:
    rcpt = original.rcpt_to[0] if original.rcpt_to else (original.to or "")
    return {
        "message_id": (original.message_id or "")[:998],
        "mail_from": (original.mail_from or "")[:998],
        "header_from": (original.from_ or "")[:998],
        "subject": (original.subject or "")[:998],
        "date_header": (original.date or "")[:255],
        "source_ip": original.source_ip
        if linking._is_ip(original.source_ip or "")
        else None,
        "original_recipient": rcpt[:998],
        "arrival_date": linking._parse_date(original.arrival_date),
        "login": (original.login or "")[:254],
    }


def bounces_record(
    *, inbound: InboundMessage, report: Report, now: datetime
) -> Mailing | None:
    """Record one Bounce per failed recipient and count them on the mailing.
    Idempotent by the one-bounce-per-recipient-per-message constraint."""
    if Bounce.objects.filter(inbound=inbound).exists():
        return Bounce.objects.filter(inbound=inbound).first().mailing
    at = linking.report_time(report.original, fallback=inbound.received_at)
    link = _link(report=report, at=at, source=Mailing.Source.BOUNCES)
    seen: dict[str, Bounce] = {}
    for recipient in report.recipients:
        address = recipient.address.strip().lower()[:254]
        if not address or address in seen:
            continue
        seen[address] = _bounce(inbound, report, recipient, address, link)
    Bounce.objects.bulk_create(seen.values())
    if link.mailing is not None:
        hard = sum(1 for b in seen.values() if b.is_hard)
        Mailing.objects.filter(pk=link.mailing.pk).update(
            hard_bounce_count=F("hard_bounce_count") + hard,
            soft_bounce_count=F("soft_bounce_count") + len(seen) - hard,
        )
    return link.mailing


def _bounce(inbound, report, recipient, address, link) -> Bounce:
    return Bounce(
        inbound=inbound,
        received_at=inbound.received_at,
        address=address,
        action=(recipient.action or "")[:16],
        status=(recipient.status or "")[:16],
        reply_code=recipient.reply_code
        if recipient.reply_code and 0 < recipient.reply_code < 1000
        else None,
        diagnostic=(recipient.diagnostic or "")[:1000],
        reason=recipient.reason[:32],
        is_hard=recipient.is_hard,
        message_id=((report.original.message_id if report.original else None) or "")[
            :998
        ],
        subscriber=link.subscriber,
        mailing=link.mailing,
    )


def reference_new() -> str:
    """A complaint reference people can read out: C-XXXX-XXXX (about 10^12 values;
    the unique constraint catches the rare clash)."""
    chars = "".join(secrets.choice(_REFERENCE_ALPHABET) for _ in range(8))
    return f"C-{chars[:4]}-{chars[4:]}"


def _policy_apply(*, mailing: Mailing, now: datetime) -> None:
    """Hand the mailing to the strike policy (automatic strikes, bounce storms)."""
    from complaints.services import strikes

    mailing.refresh_from_db()
    strikes.mailing_policy_apply(mailing=mailing, now=now)
