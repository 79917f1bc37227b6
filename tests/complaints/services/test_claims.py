"""Claims committed before a batch: a batch whose worker died is taken over, its
messages one at a time, and a message that keeps killing workers ends failed
instead of stalling the queue; exactly once throughout."""

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import psycopg
import pytest
from django.conf import settings
from django.utils import timezone

from accounts.models import Subscriber
from complaints import jobs, services
from complaints.models import Complaint, InboundClaim, InboundMessage
from tests.accounts.factories import MailAccountFactory
from tests.complaints.mail import arf_report

PENDING = InboundMessage.State.PENDING
PROCESSED = InboundMessage.State.PROCESSED
FAILED = InboundMessage.State.FAILED
BASE_DIR = Path(settings.BASE_DIR)


def _store(raw: bytes) -> InboundMessage:
    return services.inbound_store(raw=raw, channel="pipe", enqueue=False)[0]


def _dead_claim(*messages: InboundMessage, age_seconds: float = 3600) -> None:
    """What a worker killed mid-batch leaves behind: its committed claim."""
    InboundClaim.objects.create(
        inbound_ids=[m.pk for m in messages],
        claimed_at=timezone.now() - timedelta(seconds=age_seconds),
    )


def _state(message: InboundMessage) -> InboundMessage:
    return InboundMessage.objects.defer("raw").get(pk=message.pk)


@pytest.fixture
def bob(db):
    return MailAccountFactory(login="bob", address="bob@isp.example")


@pytest.mark.django_db
def test_a_batch_commits_with_its_claim_deleted_and_no_claim_counted(bob):
    for n in range(3):
        _store(arf_report(login="bob", subject=f"Offer {n}"))
    assert services.inbound_drain().messages == 3
    assert not InboundClaim.objects.exists()
    assert set(InboundMessage.objects.values_list("claims", flat=True)) == {0}


@pytest.mark.django_db
def test_a_dead_workers_batch_is_taken_over_one_message_at_a_time(bob):
    batch = [_store(arf_report(login="bob", subject=f"Offer {n}")) for n in range(3)]
    _dead_claim(*batch)
    result = services.inbound_drain(batch_size=100)
    assert result.messages == 3
    # Each message alone: the one that killed the worker takes no other with it.
    assert result.batches == 3
    assert [_state(m).state for m in batch] == [PROCESSED] * 3
    assert set(InboundMessage.objects.values_list("claims", flat=True)) == {0}
    assert Complaint.objects.count() == 3
    assert not InboundClaim.objects.exists()


@pytest.mark.django_db
def test_a_message_claimed_too_often_without_finishing_is_marked_failed(bob, settings):
    settings.ABUSE_INGEST_MAX_CLAIMS = 2
    poison = _store(arf_report(login="bob", subject="Kills workers"))
    other = _store(arf_report(login="bob", subject="Innocent"))
    InboundMessage.objects.filter(pk=poison.pk).update(claims=1)
    _dead_claim(poison)
    assert services.inbound_drain().messages == 1
    failed = _state(poison)
    assert failed.state == FAILED
    assert "died before finishing it" in failed.error
    assert failed.claims == 0  # reprocessing starts afresh
    assert _state(other).state == PROCESSED
    assert list(Complaint.objects.values_list("inbound_id", flat=True)) == [other.pk]


@pytest.mark.django_db
def test_a_claim_within_its_lease_is_not_taken_over(bob):
    message = _store(arf_report(login="bob"))
    _dead_claim(message, age_seconds=1)
    # Named by a claim (a worker between its claim and its batch): not claimed.
    assert services.inbound_drain().messages == 0
    assert _state(message).state == PENDING
    assert _state(message).claims == 0


@pytest.mark.django_db(transaction=True)
def test_a_claim_its_worker_still_holds_is_not_taken_over(bob):
    """A batch slower than the lease keeps its claim: its transaction locks it."""
    message = _store(arf_report(login="bob"))
    _dead_claim(message)
    claim = InboundClaim.objects.get()
    with psycopg.connect(_dsn()) as other:
        other.execute(
            f"SELECT id FROM {InboundClaim._meta.db_table} WHERE id = %s FOR UPDATE",  # noqa: S608
            [claim.pk],
        )
        assert services.inbound_drain().messages == 0
        other.rollback()
    assert _state(message).claims == 0
    assert services.inbound_drain().messages == 1
    assert _state(message).claims == 0
    assert _state(message).state == PROCESSED


def _dsn() -> str:
    db = settings.DATABASES["default"]
    return (
        f"host={db['HOST'] or '127.0.0.1'} port={db['PORT'] or 5432} "
        f"user={db['USER']} dbname={db['NAME']}"
    )


def _worker_env() -> dict[str, str]:
    db = settings.DATABASES["default"]
    return dict(
        os.environ,
        DJANGO_SETTINGS_MODULE="abusedesk.settings_test",
        DATABASE_URL=(
            f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:"
            f"{db['PORT'] or 5432}/{db['NAME']}"
        ),
        REDIS_URL=settings.REDIS_URL,
        ABUSE_INGEST_CLAIM_LEASE_SECONDS="0",
        ABUSE_INGEST_MAX_CLAIMS="2",
        # The server notices a client that died while its backend waits on a
        # lock (otherwise only once the lock is granted) and rolls it back.
        PGOPTIONS="-c client_connection_check_interval=100",
    )


def _wait(condition, what: str, timeout: float = 60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def _lock_waiters(admin: psycopg.Connection) -> list[int]:
    rows = admin.execute(
        "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
        " AND wait_event_type = 'Lock'"
    ).fetchall()
    return [pid for (pid,) in rows]


def _horse(worker: subprocess.Popen) -> int | None:
    path = Path(f"/proc/{worker.pid}/task/{worker.pid}/children")
    children = path.read_text().split()
    return int(children[0]) if children else None


def _kill_the_horse_mid_batch(worker, admin) -> None:
    """Wait for the work horse to be inside its batch, stuck on the lock the
    test holds, and kill it as the kernel's OOM killer would."""
    jobs.inbound_drain_job.delay()
    _wait(lambda: _lock_waiters(admin), "the work horse to wait inside its batch")
    os.kill(_wait(lambda: _horse(worker), "the work horse"), signal.SIGKILL)
    _wait(lambda: not _lock_waiters(admin), "the dead horse's batch to roll back")


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_message_that_kills_every_work_horse_ends_failed_and_the_rest_once(
    ingest_queue,
):
    """A real forking worker (``rqworker ingest``) whose work horse is killed
    inside its batch, twice, by the message about bob: the batch is taken over
    message by message, bob's message ends failed after two claims, the others
    are recorded once each, and reprocessing bob's records it once."""
    bob = MailAccountFactory(login="bob", address="bob@isp.example")
    MailAccountFactory(login="alice", address="alice@isp.example")
    poison = _store(arf_report(login="bob", subject="About bob"))
    others = [
        _store(arf_report(login="alice", subject=f"About alice {n}")) for n in (1, 2)
    ]
    worker = subprocess.Popen(  # noqa: S603 - fixed argv
        [sys.executable, str(BASE_DIR / "manage.py"), "rqworker", "ingest"],
        env=_worker_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        with (
            psycopg.connect(_dsn(), autocommit=True) as admin,
            psycopg.connect(_dsn()) as holder,
        ):
            # Recording bob's report needs his row (a new mailing locks its
            # subscriber): the horse processing it waits, and is killed there.
            holder.execute(
                f"SELECT id FROM {Subscriber._meta.db_table} WHERE id = %s FOR UPDATE",  # noqa: S608
                [bob.subscriber_id],
            )
            _kill_the_horse_mid_batch(worker, admin)  # the batch of three
            assert [_state(m).claims for m in (poison, *others)] == [0, 0, 0]
            _kill_the_horse_mid_batch(worker, admin)  # bob's message alone
            assert [_state(m).claims for m in (poison, *others)] == [1, 1, 1]
            jobs.inbound_drain_job.delay()
            _wait(
                lambda: all(_state(m).state == PROCESSED for m in others),
                "the other messages",
            )
            holder.rollback()
        failed = _state(poison)
        assert failed.state == FAILED
        assert "died before finishing it" in failed.error
        assert sorted(Complaint.objects.values_list("inbound_id", flat=True)) == [
            m.pk for m in others
        ]
        assert not InboundClaim.objects.exists()

        services.inbound_reprocess(inbound=failed)
        assert _state(poison).state == PROCESSED
        assert Complaint.objects.filter(inbound=poison).count() == 1
        assert Complaint.objects.count() == 3
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=60)
