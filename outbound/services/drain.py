"""Submission records from the policy servers' Redis stream into the database.

The stream is read through a consumer group, so two drain jobs running at once
take different entries, and an entry is acknowledged and deleted only after its
rows are committed. An entry a crashed worker took is claimed again after a
minute. Rows are unique by relay host + queue id + time, so an entry processed
twice adds nothing.
"""

import json
import logging
import os
import socket
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import redis
from django.conf import settings
from django.db import transaction

from accounts.models import Action, Subscriber
from accounts.services.timeline import action_record
from accounts.status_cache import cache_client
from complaints.models import Mailing
from complaints.queueids import is_postfix_queue_id
from outbound.models import LoginAlert, Submission
from outbound.policy.recorder import STREAM_KEY

logger = logging.getLogger(__name__)

GROUP = "drain"
CLAIM_IDLE_MS = 60_000


@dataclass
class DrainSummary:
    entries: int = 0
    submissions: int = 0
    held: int = 0


def _ensure_group(client: redis.Redis) -> None:
    try:
        client.xgroup_create(STREAM_KEY, GROUP, id="0", mkstream=True)
    except redis.ResponseError as exc:
        if "BUSYGROUP" not in str(exc):
            raise


def submissions_drain(*, max_entries: int = 200, rounds: int = 50) -> DrainSummary:
    """Drain up to ``rounds`` reads of ``max_entries`` stream entries (each entry
    one batch of records). Returns what was written."""
    client = cache_client()
    _ensure_group(client)
    consumer = f"{socket.gethostname()}-{os.getpid()}"
    summary = DrainSummary()
    _claimed, stale, *_rest = client.xautoclaim(
        STREAM_KEY, GROUP, consumer, CLAIM_IDLE_MS, "0-0", count=max_entries
    )
    if stale:
        _drain_entries(client, stale, summary)
    for _ in range(rounds):
        read = client.xreadgroup(GROUP, consumer, {STREAM_KEY: ">"}, count=max_entries)
        entries = read[0][1] if read else []
        if not entries:
            break
        _drain_entries(client, entries, summary)
    return summary


def _drain_entries(client: redis.Redis, entries: list, summary: DrainSummary) -> None:
    records = []
    for _entry_id, fields in entries:
        if fields:
            records += json.loads(fields[b"r"])
    summary.submissions += submissions_record(records=records)
    summary.held += sum(1 for r in records if r.get("a") == "hold")
    ids = [entry_id for entry_id, _fields in entries]
    client.xack(STREAM_KEY, GROUP, *ids)
    client.xdel(STREAM_KEY, *ids)
    summary.entries += len(ids)


def _when(record: dict) -> datetime:
    return datetime.fromtimestamp(float(record["t"]), tz=UTC)


@transaction.atomic
def submissions_record(*, records: list[dict]) -> int:
    """Write records as Submission rows (existing ones are left alone), join held
    messages to their burst's held batch and flag suspect logins. Returns the
    number of records given."""
    if not records:
        return 0
    known = set(
        Subscriber.objects.filter(
            pk__in={r["s"] for r in records if r.get("s")}
        ).values_list("pk", flat=True)
    )
    rows = [_submission(r, known) for r in records]
    Submission.objects.bulk_create(rows, ignore_conflicts=True, batch_size=1000)
    for record in records:
        if record.get("a") == "hold" and record.get("s") in known:
            held_batch_join(record=record)
        if record.get("p") and record.get("l"):
            login_alert_raise(
                record=record,
                subscriber_id=record.get("s") if record.get("s") in known else None,
            )
    return len(records)


def _submission(record: dict, known: set[int]) -> Submission:
    return Submission(
        relay_host=record["h"][:255],
        queue_id=record.get("q", "")[:32],
        decided_at=_when(record),
        login=record.get("l", "")[:254],
        subscriber_id=record.get("s") if record.get("s") in known else None,
        client_address=_address(record.get("c")),
        sender=record.get("f", "")[:254],
        recipient_count=int(record.get("n") or 0),
        size=int(record.get("z") or 0) or None,
        action=record["a"],
        rule=record["r"],
        reason=record.get("x", "")[:255],
        trace_token=record.get("k", "")[:255],
        source=record.get("o", Submission.Source.POLICY),
    )


def _address(value: str | None) -> str | None:
    from accounts.models import is_ip_address

    return value.strip() if is_ip_address(value) else None


def held_batch_join(*, record: dict) -> Mailing:
    """Put a held message into its burst's held batch: the subscriber's held batch
    from the same login seen within the burst window, else a new one.

    The subscriber row is locked first, so two drains cannot open two batches for
    one burst. Joining the same message twice counts it once.
    """
    subscriber = Subscriber.objects.select_for_update(no_key=True).get(pk=record["s"])
    when = _when(record)
    window = timedelta(minutes=settings.ABUSE_BURST_WINDOW_MINUTES)
    submission = Submission.objects.get(
        relay_host=record["h"][:255], queue_id=record.get("q", "")[:32], decided_at=when
    )
    if submission.mailing_id is not None:
        return submission.mailing
    login = record.get("l", "")
    mailing = (
        Mailing.objects.select_for_update(no_key=True)
        .filter(
            subscriber=subscriber,
            source=Mailing.Source.HOLD,
            state=Mailing.State.HELD,
            sender=login,
            last_seen__gte=when - window,
        )
        .order_by("-last_seen")
        .first()
    )
    recipients = int(record.get("n") or 0)
    # The ids this service saw itself: the only ones the mailing page's release
    # and reject may hand to the queue commands (complaints/queueids.py).
    queue_id = submission.queue_id if is_postfix_queue_id(submission.queue_id) else ""
    if mailing is None:
        mailing = Mailing.objects.create(
            subscriber=subscriber,
            sender=login,
            subject=f"Burst held from {login or 'unknown login'}",
            first_seen=when,
            last_seen=when,
            recipient_count=recipients,
            recipient_source=Mailing.RecipientSource.OUTBOUND,
            source=Mailing.Source.HOLD,
            state=Mailing.State.HELD,
            held_queue_ids=[queue_id] if queue_id else [],
        )
        action_record(
            subscriber=subscriber,
            kind=Action.Kind.NOTE,
            actor=None,
            reason=f"Mail held for review: {record.get('x', '')}"[:500],
            mailing=mailing,
        )
        logger.info("held batch %s opened for subscriber %s", mailing.pk, subscriber.pk)
    else:
        mailing.last_seen = max(mailing.last_seen, when)
        mailing.recipient_count = (mailing.recipient_count or 0) + recipients
        if queue_id and queue_id not in mailing.held_queue_ids:
            mailing.held_queue_ids = [*mailing.held_queue_ids, queue_id]
        mailing.save(update_fields=["last_seen", "recipient_count", "held_queue_ids"])
    submission.mailing = mailing
    submission.save(update_fields=["mailing"])
    return mailing


def login_alert_raise(*, record: dict, subscriber_id: int | None) -> LoginAlert:
    """Flag a login as likely compromised: open an alert (and say so on the
    subscriber's timeline) or refresh the open one."""
    when = _when(record)
    login = record["l"][:254]
    alert = (
        LoginAlert.objects.select_for_update()
        .filter(login=login, closed_at__isnull=True)
        .first()
    )
    if alert is not None:
        alert.last_seen = max(alert.last_seen, when)
        alert.save(update_fields=["last_seen"])
        return alert
    alert = LoginAlert.objects.create(
        login=login,
        subscriber_id=subscriber_id,
        networks=0,
        first_seen=when,
        last_seen=when,
    )
    if subscriber_id is not None:
        action_record(
            subscriber=Subscriber.objects.get(pk=subscriber_id),
            kind=Action.Kind.NOTE,
            actor=None,
            reason=f"Likely compromised: login {login} used from more than "
            f"{settings.ABUSE_LOGIN_NETWORKS_PER_HOUR} networks within an hour.",
        )
    return alert


def submissions_purge(*, now: datetime) -> int:
    """Delete submissions older than ABUSE_SUBMISSION_RETENTION_DAYS, except those
    a mailing still rests on. Returns how many went."""
    cutoff = now - timedelta(days=settings.ABUSE_SUBMISSION_RETENTION_DAYS)
    deleted, _ = Submission.objects.filter(
        decided_at__lt=cutoff, mailing__isnull=True
    ).delete()
    return deleted
