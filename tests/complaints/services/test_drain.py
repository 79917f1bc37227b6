"""The drain: pending rows claimed in batches, woken by coalesced jobs, shared by
workers that never take the same row, with the ingest guarantees kept."""

import time

import pytest
from django.db import OperationalError, connection
from django.db.models import Count

from complaints import services
from complaints.models import Complaint, InboundMessage
from complaints.services import ingest as ingest_services
from complaints.services import recording
from complaints.services.wakeup import WAKE_KEY
from tests.accounts.factories import MailAccountFactory
from tests.complaints.mail import arf_report, human_complaint

pytestmark = pytest.mark.django_db

DRAIN_JOB = "complaints.jobs.inbound_drain_job"
PENDING = InboundMessage.State.PENDING
PROCESSED = InboundMessage.State.PROCESSED


@pytest.fixture
def bob(db):
    return MailAccountFactory(login="bob", address="bob@isp.example")


def _store(raw: bytes) -> InboundMessage:
    return services.inbound_store(raw=raw, channel="pipe", enqueue=False)[0]


def _jobs(queue) -> list[str]:
    return [job.func_name for job in queue.jobs]


def test_drain_processes_everything_pending_in_batches_of_the_setting(
    bob, settings, ingest_queue
):
    settings.ABUSE_INGEST_BATCH = 4
    stored = [_store(arf_report(login="bob", subject=f"Offer {n}")) for n in range(10)]
    result = services.inbound_drain()
    assert result == services.DrainResult(batches=3, messages=10, is_empty=True)
    assert set(InboundMessage.objects.values_list("state", flat=True)) == {PROCESSED}
    assert Complaint.objects.count() == len(stored)
    # Rows of one batch share its processing time: three transactions.
    times = InboundMessage.objects.values("processed_at").distinct().count()
    assert times == 3


def test_arrivals_during_the_linger_join_one_batch_and_the_same_job(
    bob, settings, ingest_queue, monkeypatch
):
    """Mail arriving a message at a time: the drainer waits a little after a
    partial batch, so what arrives meanwhile is one transaction, and polls an
    empty queue for a while before its job ends, so the next arrivals need no
    new job (a fork and fresh connections) of their own."""
    settings.ABUSE_INGEST_LINGER_SECONDS = 0.01
    settings.ABUSE_INGEST_IDLE_SECONDS = 0.3
    _store(arf_report(login="bob", subject="Offer 0"))
    arrivals = [
        [arf_report(login="bob", subject=f"Offer {n}") for n in range(1, 6)],
        [],  # nothing during the second wait: the queue is empty once
        [arf_report(login="bob", subject="Offer 6")],
    ]
    real_sleep = time.sleep

    def sleep_while_mail_arrives(seconds):
        for raw in arrivals.pop(0) if arrivals else []:
            _store(raw)
        real_sleep(seconds)

    monkeypatch.setattr(time, "sleep", sleep_while_mail_arrives)
    result = services.inbound_drain()
    assert result == services.DrainResult(batches=3, messages=7, is_empty=True)
    sizes = sorted(
        InboundMessage.objects.values("processed_at")
        .annotate(n=Count("pk"))
        .values_list("n", flat=True)
    )
    assert sizes == [1, 1, 5]


def test_without_linger_an_empty_queue_ends_the_drain_at_once(bob, settings):
    settings.ABUSE_INGEST_LINGER_SECONDS = 0.0
    settings.ABUSE_INGEST_IDLE_SECONDS = 0.0
    _store(arf_report(login="bob"))
    started = time.monotonic()
    assert services.inbound_drain().messages == 1
    assert time.monotonic() - started < 5


def test_drain_twice_writes_nothing_twice(bob, ingest_queue):
    for n in range(3):
        _store(arf_report(login="bob", subject=f"Offer {n}"))
    services.inbound_drain()
    second = services.inbound_drain()
    assert second == services.DrainResult(batches=0, messages=0, is_empty=True)
    assert Complaint.objects.count() == 3
    assert set(InboundMessage.objects.values_list("attempts", flat=True)) == {1}


def test_claim_takes_the_oldest_first_and_only_pending_rows(bob):
    first = _store(arf_report(login="bob"))
    done = _store(arf_report(login="bob"))
    InboundMessage.objects.filter(pk=done.pk).update(state=PROCESSED)
    last = _store(arf_report(login="bob"))
    assert list(services.inbound_process_next(limit=1)) == [first.pk]
    assert list(services.inbound_process_next(limit=5)) == [last.pk]
    assert services.inbound_process_next(limit=5) == {}


@pytest.mark.django_db(transaction=True)
def test_a_drainer_skips_the_rows_another_worker_holds(bob, ingest_queue):
    """What another worker has claimed (its rows locked in its transaction) is
    neither waited for nor processed a second time."""
    import psycopg
    from django.conf import settings as django_settings

    rows = [_store(arf_report(login="bob", subject=f"Offer {n}")) for n in range(6)]
    held = [row.pk for row in rows[:2]]
    db = django_settings.DATABASES["default"]
    dsn = (
        f"host={db['HOST'] or '127.0.0.1'} port={db['PORT'] or 5432} "
        f"user={db['USER']} dbname={db['NAME']}"
    )
    with psycopg.connect(dsn) as other:
        locked = other.execute(
            f"SELECT id FROM {InboundMessage._meta.db_table} "  # noqa: S608
            "WHERE id = ANY(%s) FOR UPDATE",
            [held],
        ).fetchall()
        assert sorted(pk for (pk,) in locked) == held
        result = services.inbound_drain(batch_size=2)
        other.rollback()
    assert result.messages == 4
    states = dict(InboundMessage.objects.values_list("pk", "state"))
    assert [states[row.pk] for row in rows] == [PENDING] * 2 + [PROCESSED] * 4
    assert services.inbound_drain().messages == 2
    assert set(InboundMessage.objects.values_list("attempts", flat=True)) == {1}


def test_a_poisoned_message_in_a_claimed_batch_is_isolated_and_marked_failed(
    bob, monkeypatch, ingest_queue
):
    # A field the sanitiser missed, simulated by switching it off.
    monkeypatch.setattr(ingest_services, "report_db_safe", lambda report: report)
    good = _store(arf_report(login="bob", subject="Good one"))
    poison = _store(arf_report(login="bob", subject="Bad\x00 one"))
    other = _store(human_complaint(login="bob", subject="Good two"))
    result = services.inbound_drain(batch_size=10)
    assert result.messages == 3
    poison.refresh_from_db()
    assert poison.state == InboundMessage.State.FAILED
    assert poison.error.startswith("Refused by the database: ")
    states = InboundMessage.objects.filter(pk__in=[good.pk, other.pk])
    assert set(states.values_list("state", flat=True)) == {PROCESSED}


def test_a_lost_connection_rolls_the_batch_back_and_propagates_for_a_retry(
    bob, monkeypatch, ingest_queue
):
    def lost(items):
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(recording, "batch_link", lost)
    first, second = _store(arf_report(login="bob")), _store(arf_report(login="bob"))
    with pytest.raises(OperationalError):
        services.inbound_drain()
    assert set(
        InboundMessage.objects.filter(pk__in=[first.pk, second.pk]).values_list(
            "state", flat=True
        )
    ) == {PENDING}


def test_a_full_batch_wakes_a_second_worker(bob, ingest_queue):
    for n in range(4):
        _store(arf_report(login="bob", subject=f"Offer {n}"))
    services.inbound_drain(batch_size=2)
    # Two full batches, one wake-up queued (the second found it on its way).
    assert _jobs(ingest_queue) == [DRAIN_JOB]


def test_a_drain_out_of_time_hands_over_to_a_fresh_job(bob, ingest_queue):
    for n in range(3):
        _store(arf_report(login="bob", subject=f"Offer {n}"))
    result = services.inbound_drain(batch_size=1, budget_seconds=0)
    assert result == services.DrainResult(batches=1, messages=1, is_empty=False)
    assert _jobs(ingest_queue) == [DRAIN_JOB]
    assert InboundMessage.objects.filter(state=PENDING).count() == 2


def test_arrivals_coalesce_until_a_drainer_starts(committed, ingest_queue):
    for _ in range(3):
        committed(services.inbound_store, raw=arf_report(), channel="pipe")
    assert _jobs(ingest_queue) == [DRAIN_JOB]
    # The drainer clears the key before its first claim: an arrival after
    # that must wake a worker of its own, or it would wait for the sweep.
    services.inbound_drain()
    committed(services.inbound_store, raw=arf_report(), channel="pipe")
    assert _jobs(ingest_queue) == [DRAIN_JOB, DRAIN_JOB]


def test_the_sweep_wakes_a_worker_even_when_the_key_says_one_is_queued(
    ingest_queue, settings
):
    from datetime import timedelta

    from django.utils import timezone

    stuck = _store(arf_report())
    InboundMessage.objects.filter(pk=stuck.pk).update(
        received_at=timezone.now() - timedelta(hours=1)
    )
    # A wake-up whose job was lost (the queue emptied by hand).
    ingest_queue.connection.set(WAKE_KEY, b"1", ex=60)
    assert services.inbound_wake() is False
    assert services.inbound_sweep() == 1
    assert _jobs(ingest_queue) == [DRAIN_JOB]


def test_staff_reprocess_still_processes_one_message_at_once(bob):
    failed = _store(arf_report(login="bob"))
    InboundMessage.objects.filter(pk=failed.pk).update(
        state=InboundMessage.State.FAILED, error="Internal error: fixed since"
    )
    outcome = services.inbound_reprocess(inbound=failed)
    assert outcome.state == PROCESSED
    assert Complaint.objects.get().inbound_id == failed.pk


def test_the_claim_is_served_by_the_partial_index_of_pending_rows(bob):
    _store(arf_report(login="bob"))
    pending = (
        InboundMessage.objects.select_for_update(skip_locked=True, no_key=True)
        .filter(state=PENDING)
        .order_by("pk")[:100]
    )
    with connection.cursor() as cursor:
        # A table this small would be read whole; the plan shows the index can
        # serve the claim, as it does once the table holds a history.
        cursor.execute("SET LOCAL enable_seqscan = off")
        sql, params = pending.query.sql_with_params()
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "inbound_pending_idx" in plan, plan
