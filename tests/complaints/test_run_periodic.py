"""run_periodic: the periodic jobs and the retries it moves, on the real Redis."""

import io
from datetime import timedelta

import django_rq
import pytest
from django.core.management import call_command
from django.utils import timezone
from rq.registry import ScheduledJobRegistry
from rq.scheduler import RQScheduler

from complaints import jobs


@pytest.fixture
def queues():
    found = [django_rq.get_queue(name) for name in ("ingest", "default")]

    def clean():
        for queue in found:
            queue.empty()
            ScheduledJobRegistry(queue=queue).remove_jobs()
            queue.connection.delete(RQScheduler.get_locking_key(queue.name))

    clean()
    yield {queue.name: queue for queue in found}
    clean()


def test_once_enqueues_the_sweep_and_moves_a_retry_whose_back_off_is_over(queues):
    retried = queues["ingest"].enqueue_at(
        timezone.now() - timedelta(seconds=1), jobs.inbound_drain_job
    )

    call_command("run_periodic", "--once")

    assert queues["ingest"].job_ids == [retried.id]
    [sweep] = queues["default"].jobs
    assert sweep.func_name == "complaints.jobs.inbound_sweep_job"
    # Stopping gave the scheduler's locks up for the next run.
    assert not queues["ingest"].connection.exists(RQScheduler.get_locking_key("ingest"))


def test_with_redis_down_it_says_so_once_and_exits_cleanly(settings):
    down = "redis://127.0.0.1:1/0?socket_connect_timeout=0.2&socket_timeout=0.2"
    settings.RQ_QUEUES = {
        name: {**queue, "URL": down} for name, queue in settings.RQ_QUEUES.items()
    }
    errors = io.StringIO()

    call_command("run_periodic", "--once", stderr=errors)

    lines = errors.getvalue().splitlines()
    assert len(lines) == 1
    assert "Could not reach Redis" in lines[0]
