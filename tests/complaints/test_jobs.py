"""The ingest jobs, run twice and through real RQ workers on a real Redis."""

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone

from complaints import jobs, services
from complaints.models import Complaint, InboundMessage, Mailing
from tests.accounts.factories import MailAccountFactory
from tests.complaints.mail import arf_report

BASE_DIR = Path(settings.BASE_DIR)


def _child_env() -> dict[str, str]:
    """The environment of a worker or command subprocess: the same test database
    and Redis as this test process."""
    db = settings.DATABASES["default"]
    env = dict(os.environ)
    env["DJANGO_SETTINGS_MODULE"] = "abusedesk.settings_test"
    env["DATABASE_URL"] = (
        f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    )
    env["REDIS_URL"] = settings.REDIS_URL
    return env


def _manage(*args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(BASE_DIR / "manage.py"), *args],
        env=_child_env(),
        capture_output=True,
        timeout=120,
        **kwargs,
    )


@pytest.mark.django_db
def test_process_job_run_twice_records_one_complaint():
    MailAccountFactory(login="bob")
    inbound, _ = services.inbound_store(
        raw=arf_report(login="bob"), channel="pipe", enqueue=False
    )
    jobs.inbound_process_job(inbound.pk)
    jobs.inbound_process_job(inbound.pk)
    jobs.inbound_process_batch_job([inbound.pk, inbound.pk])
    assert Complaint.objects.count() == 1
    assert Mailing.objects.get().complaint_count == 1


@pytest.mark.django_db(transaction=True)
def test_message_piped_in_becomes_a_linked_complaint_after_a_real_worker(ingest_queue):
    account = MailAccountFactory(login="carol")
    raw = arf_report(login="carol", subject="Win a prize")

    piped = _manage("ingest_email", input=raw)
    assert piped.returncode == 0, piped.stderr
    assert InboundMessage.objects.get().state == InboundMessage.State.PENDING
    worker = _manage("rqworker", "ingest", "--burst")
    assert worker.returncode == 0, worker.stderr

    complaint = Complaint.objects.get()
    assert complaint.subscriber == account.subscriber
    assert complaint.mailing.subject == "Win a prize"
    assert InboundMessage.objects.get().state == InboundMessage.State.PROCESSED

    again = _manage("ingest_email", input=raw)
    assert again.returncode == 0, again.stderr
    _manage("rqworker", "ingest", "--burst")
    assert InboundMessage.objects.count() == 1
    assert Complaint.objects.count() == 1
    assert Mailing.objects.get().complaint_count == 1


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_worker_killed_mid_batch_then_restarted_processes_every_message_once(
    ingest_queue,
):
    MailAccountFactory(login="dave")
    total = 400
    ids = []
    for n in range(total):
        raw = arf_report(
            login="dave", subject=f"Offer {n % 7}", recipient=f"r{n}@example.org"
        )
        inbound, _ = services.inbound_store(raw=raw, channel="pipe", enqueue=False)
        ids.append(inbound.pk)
    services.inbound_wake()

    worker = subprocess.Popen(
        [sys.executable, str(BASE_DIR / "manage.py"), "rqworker", "ingest"],
        env=_child_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 90
    while _processed() < total // 4 and time.monotonic() < deadline:
        time.sleep(0.05)
    # The whole process group: RQ's forked work horse dies with its worker, as
    # both do when a machine crashes.
    os.killpg(worker.pid, signal.SIGKILL)
    worker.wait(timeout=10)
    assert 0 < _processed() < total, (
        "the worker must be killed in the middle of the run"
    )

    # What the killed worker held is back to pending (its transaction rolled back);
    # the sweep re-enqueues it and a fresh worker finishes the run.
    services.inbound_sweep(now=timezone.now() + timedelta(days=1))
    restarted = _manage("rqworker", "ingest", "--burst")
    assert restarted.returncode == 0, restarted.stderr

    assert _processed() == total
    assert Complaint.objects.count() == total
    assert Complaint.objects.values("inbound").distinct().count() == total
    counted = sum(Mailing.objects.values_list("complaint_count", flat=True))
    linked = Complaint.objects.filter(state=Complaint.State.LINKED).count()
    assert counted == linked == total


def _processed() -> int:
    return InboundMessage.objects.filter(state=InboundMessage.State.PROCESSED).count()


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_two_workers_at_once_keep_mailing_counters_exact(ingest_queue):
    """Complaints and bounces about the same few mailings, split over two real
    workers running at the same time: the counters equal the rows."""
    from tests.complaints.mail import dsn_report

    accounts = [MailAccountFactory(login=f"sender{n}") for n in range(3)]
    ids = []
    for n in range(240):
        login = accounts[n % 3].login
        if n % 2:
            raw = arf_report(
                login=login, subject=f"Offer {n % 4}", recipient=f"r{n}@example.org"
            )
        else:
            complaint, _ = services.inbound_store(
                raw=arf_report(
                    login=login, subject=f"Offer {n % 4}", recipient=f"s{n}@example.org"
                ),
                channel="pipe",
                enqueue=False,
            )
            ids.append(complaint.pk)
            raw = dsn_report(
                original_message_id=f"<{n}@x.example>",
                failed=[(f"gone{n}@example.com", "5.1.1", "550 5.1.1 User unknown")],
            ).replace(
                b"From: Shop News <news@shop.example>",
                f"From: {login}@isp.example".encode(),
            )
        inbound, _ = services.inbound_store(raw=raw, channel="pipe", enqueue=False)
        ids.append(inbound.pk)
    # Two wake-ups, one per worker: the drainers share the rows between them.
    services.inbound_wake(force=True)
    services.inbound_wake(force=True)

    workers = [
        subprocess.Popen(
            [
                sys.executable,
                str(BASE_DIR / "manage.py"),
                "rqworker",
                "ingest",
                "--burst",
            ],
            env=_child_env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(2)
    ]
    for worker in workers:
        assert worker.wait(timeout=180) == 0

    assert (
        InboundMessage.objects.filter(state=InboundMessage.State.PENDING).count() == 0
    )
    linked = Complaint.objects.filter(state=Complaint.State.LINKED).count()
    assert linked == Complaint.objects.count() > 0
    assert sum(Mailing.objects.values_list("complaint_count", flat=True)) == linked
    from complaints.models import Bounce

    bounces = Bounce.objects.filter(mailing__isnull=False).count()
    assert bounces > 0
    assert sum(Mailing.objects.values_list("hard_bounce_count", flat=True)) == bounces
    # Neither worker created a mailing the other had already created.
    distinct = Mailing.objects.values("subscriber", "normalized_subject").distinct()
    assert distinct.count() == Mailing.objects.count()


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_thousand_single_arrivals_cost_a_few_jobs_and_batch_transactions(
    ingest_queue,
):
    """Messages committed one by one, each waking the workers as every channel
    does: the wake-ups coalesce into a job or two, and one forking worker drains
    them in batches of ABUSE_INGEST_BATCH (100)."""
    MailAccountFactory(login="erin")
    total = 1000
    for n in range(total):
        raw = arf_report(
            login="erin", subject=f"Offer {n % 9}", recipient=f"r{n}@example.org"
        )
        services.inbound_store(raw=raw, channel="pipe")
    enqueued = ingest_queue.count
    assert 1 <= enqueued <= 5, f"{enqueued} jobs for {total} arrivals"

    worker = _manage("rqworker", "ingest", "--burst")
    assert worker.returncode == 0, worker.stderr

    assert _processed() == total
    assert Complaint.objects.count() == total
    # The rows of one batch transaction share its processing time.
    batches = InboundMessage.objects.values("processed_at").distinct().count()
    assert batches <= 15, f"{batches} batch transactions for {total} arrivals"
    assert set(InboundMessage.objects.values_list("attempts", flat=True)) == {1}


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_two_drainers_at_once_never_process_a_row_twice(ingest_queue):
    from rq.job import Job

    MailAccountFactory(login="frank")
    total = 400
    for n in range(total):
        raw = arf_report(
            login="frank", subject=f"Deal {n % 5}", recipient=f"r{n}@example.org"
        )
        services.inbound_store(raw=raw, channel="pipe", enqueue=False)
    jobs_ = [jobs.inbound_drain_job.delay(), jobs.inbound_drain_job.delay()]
    env = dict(_child_env(), ABUSE_INGEST_BATCH="10")
    workers = [
        subprocess.Popen(
            [
                sys.executable,
                str(BASE_DIR / "manage.py"),
                "rqworker",
                "ingest",
                "--burst",
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(2)
    ]
    for worker in workers:
        assert worker.wait(timeout=180) == 0

    assert _processed() == total
    # Processed once each: one attempt, one complaint.
    assert set(InboundMessage.objects.values_list("attempts", flat=True)) == {1}
    assert Complaint.objects.values("inbound").distinct().count() == total
    assert Complaint.objects.count() == total
    drained = [
        Job.fetch(job.id, connection=ingest_queue.connection).return_value()
        for job in jobs_
    ]
    assert sum(result["messages"] for result in drained) == total
