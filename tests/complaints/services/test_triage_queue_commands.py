"""Releasing or rejecting a held batch runs the MTA's queue command only on the
queue ids the desk recorded when the batch was held, never on ids from reports."""

import json
import sys

import pytest

from complaints.models import Mailing, MailingKey
from complaints.services import triage

pytestmark = pytest.mark.django_db

RECORDER = """
import json, sys
with open(sys.argv[1], "a") as out:
    out.write(json.dumps(sys.argv[2:]) + "\\n")
"""


@pytest.fixture
def calls(tmp_path, settings):
    """A real queue command that writes down each argv it is run with."""
    script = tmp_path / "queue_command.py"
    script.write_text(RECORDER)
    log = tmp_path / "calls.jsonl"
    settings.ABUSE_QUEUE_DELETE_COMMAND = f"{sys.executable} {script} {log} -d"
    settings.ABUSE_QUEUE_RELEASE_COMMAND = f"{sys.executable} {script} {log} -H"

    def read() -> list[list[str]]:
        if not log.exists():
            return []
        return [json.loads(line) for line in log.read_text().splitlines()]

    return read


@pytest.fixture
def held(mailing):
    mailing.state = Mailing.State.HELD
    mailing.held_queue_ids = ["C3CD21F3E90"]
    mailing.save()
    # What a hostile feedback report about the batch left behind.
    MailingKey.objects.create(mailing=mailing, kind="queue_id", value="ALL")
    MailingKey.objects.create(mailing=mailing, kind="queue_id", value="-d")
    return mailing


def test_reject_deletes_only_the_recorded_queue_id(
    held, abuse_user, calls, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        triage.mailing_hold_reject(mailing=held, actor=abuse_user, reason="spam")
    assert calls() == [["-d", "C3CD21F3E90"]]


def test_release_releases_only_the_recorded_queue_id(
    held, abuse_user, calls, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        triage.mailing_hold_release(mailing=held, actor=abuse_user)
    assert calls() == [["-H", "C3CD21F3E90"]]


def test_a_recorded_id_that_is_not_a_queue_id_runs_no_command_at_all(
    held, abuse_user, calls, django_capture_on_commit_callbacks
):
    held.held_queue_ids = ["9F00A1234", "ALL"]
    held.save()
    with django_capture_on_commit_callbacks(execute=True):
        triage.mailing_hold_reject(mailing=held, actor=abuse_user, reason="spam")
    held.refresh_from_db()
    assert held.state == Mailing.State.REJECTED, "the decision is still recorded"
    assert calls() == []
