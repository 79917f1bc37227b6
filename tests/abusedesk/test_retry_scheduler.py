"""The retry scheduler of run_periodic, on the real Redis."""

from datetime import timedelta

import django_rq
import pytest
from django.utils import timezone
from rq.registry import ScheduledJobRegistry
from rq.scheduler import RQScheduler

from abusedesk.retry_scheduler import RetryScheduler

QUEUES = ("ingest", "default")


@pytest.fixture
def queues():
    found = {name: django_rq.get_queue(name) for name in QUEUES}
    connection = found["default"].connection

    def clean():
        for queue in found.values():
            queue.empty()
            ScheduledJobRegistry(queue=queue).remove_jobs()
            connection.delete(RQScheduler.get_locking_key(queue.name))

    clean()
    yield found
    clean()


def _schedule(queue, *, seconds_from_now: int):
    return queue.enqueue_at(
        timezone.now() + timedelta(seconds=seconds_from_now), "builtins.len", "abc"
    )


def test_a_due_retry_goes_back_to_its_queue_and_a_later_one_waits(queues):
    due = _schedule(queues["ingest"], seconds_from_now=-5)
    later = _schedule(queues["default"], seconds_from_now=600)
    scheduler = RetryScheduler(QUEUES, connection=queues["default"].connection)

    scheduler.tick()

    assert scheduler.queue_names == set(QUEUES)
    assert queues["ingest"].job_ids == [due.id]
    assert queues["default"].job_ids == []
    assert later.id in ScheduledJobRegistry(queue=queues["default"]).get_job_ids()
    scheduler.stop()


def test_a_second_scheduler_leaves_the_queues_to_the_first_until_it_stops(queues):
    connection = queues["default"].connection
    first = RetryScheduler(QUEUES, connection=connection)
    second = RetryScheduler(QUEUES, connection=connection)
    first.tick()
    second.tick()
    assert first.queue_names == set(QUEUES)
    assert second.queue_names == set()

    due = _schedule(queues["ingest"], seconds_from_now=-5)
    second.tick()
    assert queues["ingest"].job_ids == []  # not its queue to move

    first.stop()
    assert not any(
        connection.exists(RQScheduler.get_locking_key(name)) for name in QUEUES
    )
    # A fresh one (a restarted run_periodic) takes the freed locks at once.
    third = RetryScheduler(QUEUES, connection=connection)
    third.tick()
    assert queues["ingest"].job_ids == [due.id]
    third.stop()
