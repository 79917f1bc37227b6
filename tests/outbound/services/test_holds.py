"""Releasing and rejecting held batches: one job per queue id the desk saw, each
outcome on the timeline, nothing run twice, nothing run for a foreign id."""

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from accounts.models import Action
from complaints.models import Mailing
from outbound.models import Submission
from outbound.services.drain import submissions_record
from outbound.services.holds import (
    held_batch_decide,
    held_headers_request,
    queue_command_args,
    queue_command_run,
)
from tests.accounts.factories import MailAccountFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def batch():
    sub = MailAccountFactory(login="bob").subscriber
    now = timezone.now().timestamp()
    submissions_record(
        records=[
            {
                "h": "relay.test",
                "q": qid,
                "t": now + n,
                "l": "bob",
                "s": sub.pk,
                "c": "192.0.2.7",
                "n": 2,
                "a": "hold",
                "r": "burst",
                "x": "held for review: burst",
            }
            for n, qid in enumerate(["4AAAAAAAAA", "4BBBBBBBBB"])
        ]
    )
    return Mailing.objects.get(source=Mailing.Source.HOLD)


def test_queue_ids_and_hosts_that_are_not_postfix_ones_get_no_command():
    assert queue_command_args(
        template="postsuper -H", queue_id="4AAAAAAAAA", relay_host="r1"
    ) == ["postsuper", "-H", "4AAAAAAAAA"]
    assert queue_command_args(
        template="ssh {relay_host} postsuper -d {queue_id}",
        queue_id="ABC123",
        relay_host="relay.test",
    ) == ["ssh", "relay.test", "postsuper", "-d", "ABC123"]
    for bad in ["-d", "ALL", "../x", "ab c", "", "4AAA;rm"]:
        assert (
            queue_command_args(template="postsuper -H", queue_id=bad, relay_host="r1")
            is None
        )
    assert (
        queue_command_args(
            template="postsuper -H", queue_id="ABC123", relay_host="-oProxy=x"
        )
        is None
    )


def test_release_runs_one_job_per_message_and_records_each_outcome(
    batch, settings, abuse_user, django_capture_on_commit_callbacks, run_jobs
):
    settings.ABUSE_QUEUE_RELEASE_COMMAND = "/usr/bin/true {queue_id}"
    with django_capture_on_commit_callbacks(execute=True):
        held_batch_decide(mailing=batch, actor=abuse_user, release=True)
    run_jobs("default")
    batch.refresh_from_db()
    assert batch.state == Mailing.State.RELEASED
    assert set(batch.submissions.values_list("queue_outcome", flat=True)) == {
        "release done"
    }
    assert all(batch.submissions.values_list("released_at", flat=True))
    notes = Action.objects.filter(
        mailing=batch, kind=Action.Kind.NOTE, reason__contains="release done"
    )
    assert notes.count() == 2
    assert (
        Action.objects.filter(
            mailing=batch, kind=Action.Kind.HOLD_RELEASED, actor=abuse_user
        ).count()
        == 1
    )


def test_a_job_run_twice_releases_once(batch, settings, abuse_user):
    settings.ABUSE_QUEUE_RELEASE_COMMAND = "/usr/bin/true"
    held_batch_decide(mailing=batch, actor=abuse_user, release=True)
    submission = batch.submissions.first()
    queue_command_run(submission_id=submission.pk, operation="release")
    queue_command_run(submission_id=submission.pk, operation="release")
    assert (
        Action.objects.filter(
            mailing=batch, reason__contains=submission.queue_id
        ).count()
        == 1
    )


def test_a_failed_command_says_so_on_the_timeline(batch, settings):
    settings.ABUSE_QUEUE_DELETE_COMMAND = "/usr/bin/false"
    submission = batch.submissions.first()
    outcome = queue_command_run(submission_id=submission.pk, operation="delete")
    assert outcome.startswith("delete failed (exit 1)")
    submission.refresh_from_db()
    assert submission.released_at is None


def test_an_id_the_desk_did_not_see_as_a_queue_id_is_refused(batch, settings):
    settings.ABUSE_QUEUE_RELEASE_COMMAND = "/usr/bin/true"
    submission = batch.submissions.first()
    Submission.objects.filter(pk=submission.pk).update(queue_id="-d")
    assert "refused" in queue_command_run(
        submission_id=submission.pk, operation="release"
    )


def test_reject_needs_a_reason_and_a_decided_batch_stays_decided(batch, abuse_user):
    with pytest.raises(ValidationError):
        held_batch_decide(mailing=batch, actor=abuse_user, release=False, reason=" ")
    held_batch_decide(mailing=batch, actor=abuse_user, release=False, reason="spam run")
    again = held_batch_decide(mailing=batch, actor=abuse_user, release=True)
    assert again.state == Mailing.State.REJECTED


def test_headers_give_the_batch_its_subject_and_recipients_with_bad_ones(
    batch, settings, django_capture_on_commit_callbacks, run_jobs
):
    settings.ABUSE_QUEUE_HEADERS_COMMAND = (
        '/usr/bin/printf "*** ENVELOPE RECORDS {queue_id} ***\\nrecipient: a@example.org\\n'
        'recipient: bad@@example\\n*** MESSAGE CONTENTS ***\\nSubject: Cheap pills\\n"'
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert held_headers_request(mailing=batch) == 2
    run_jobs("default")
    batch.refresh_from_db()
    assert batch.subject == "Cheap pills"
    assert batch.held_recipients == ["a@example.org", "bad@@example"]
