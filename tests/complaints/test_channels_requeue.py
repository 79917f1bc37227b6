"""``manage.py inbound_requeue``: stuck messages go back on the real RQ queue."""

import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from complaints.models import InboundMessage
from tests.complaints.factories import InboundMessageFactory

pytestmark = pytest.mark.django_db

State = InboundMessage.State


def minutes_ago(minutes: int):
    return timezone.now() - timedelta(minutes=minutes)


def drain_jobs(queue) -> int:
    """The wake-ups on the queue (a drain job processes whatever is pending)."""
    names = [job.func_name for job in queue.jobs]
    assert set(names) <= {"complaints.jobs.inbound_drain_job"}, names
    return len(names)


def requeue(*args: str) -> str:
    out = io.StringIO()
    call_command("inbound_requeue", *args, stdout=out)
    return out.getvalue()


def test_pending_older_than_the_sweep_age_is_requeued(ingest_queue, settings):
    settings.ABUSE_PENDING_SWEEP_MINUTES = 10
    InboundMessageFactory(received_at=minutes_ago(30))
    InboundMessageFactory(received_at=minutes_ago(1))
    InboundMessageFactory(received_at=minutes_ago(30), state=State.PROCESSED)
    assert requeue() == "Re-enqueued 1 pending messages.\n"
    assert drain_jobs(ingest_queue) == 1


def test_pending_older_than_option_picks_the_age(ingest_queue, settings):
    settings.ABUSE_PENDING_SWEEP_MINUTES = 10
    InboundMessageFactory(received_at=minutes_ago(3))
    InboundMessageFactory(received_at=timezone.now() + timedelta(minutes=1))
    assert requeue("--pending-older-than", "2").startswith("Re-enqueued 1 pending")
    assert drain_jobs(ingest_queue) == 1


def test_failed_option_sends_failed_messages_back_to_pending(
    ingest_queue, django_capture_on_commit_callbacks
):
    failed = InboundMessageFactory(state=State.FAILED, error="Unreadable message")
    ignored = InboundMessageFactory(state=State.IGNORED)
    with django_capture_on_commit_callbacks(execute=True):
        output = requeue("--failed")
    assert "Re-enqueued 1 failed messages." in output
    failed.refresh_from_db()
    assert (failed.state, failed.error) == (State.PENDING, "")
    ignored.refresh_from_db()
    assert ignored.state == State.IGNORED
    assert drain_jobs(ingest_queue) == 1


def test_running_twice_is_harmless(ingest_queue, settings):
    settings.ABUSE_PENDING_SWEEP_MINUTES = 10
    InboundMessageFactory(received_at=minutes_ago(30))
    requeue()
    requeue()
    assert InboundMessage.objects.get().state == State.PENDING
