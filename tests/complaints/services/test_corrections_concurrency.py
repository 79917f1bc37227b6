"""Corrections racing other staff clicks, as processes with their own database
connections released together: the subscriber lock serialises them, so one
wins, the other sees its result, and nothing deadlocks."""

import os
import subprocess
import sys

import pytest
from django.conf import settings

from complaints.models import Mailing, Strike
from tests.accounts.factories import SubscriberFactory, UserFactory
from tests.complaints.factories import ComplaintFactory, MailingFactory
from tests.complaints.test_strike_concurrency import database_url

pytestmark = pytest.mark.django_db(transaction=True)

# Runs in each child: connect, say ready, wait for "go", do one thing, say how
# it went ("done" or "refused: ...").
CHILD = """
import os, sys
import django
django.setup()
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from complaints.models import Mailing
from complaints.services import mailing_merge, strike_issue
actor = User.objects.get(pk=int(os.environ["ACTOR_ID"]))
what, *ids = os.environ["JOB"].split()
mailings = [Mailing.objects.get(pk=int(pk)) for pk in ids]
sys.stdout.write("ready\\n")
sys.stdout.flush()
sys.stdin.readline()
try:
    if what == "merge":
        mailing_merge(target=mailings[0], sources=mailings[1:], actor=actor, reason="race")
    else:
        strike_issue(mailing=mailings[0], actor=actor)
except ValidationError as error:
    sys.stdout.write("refused: " + " ".join(error.messages) + "\\n")
else:
    sys.stdout.write("done\\n")
"""


def at_once(jobs: list[str]) -> list[str]:
    actor = UserFactory()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "abusedesk.settings_test",
        "DATABASE_URL": database_url(),
        "ACTOR_ID": str(actor.pk),
    }
    children = [
        subprocess.Popen(
            [sys.executable, "-c", CHILD],
            cwd=settings.BASE_DIR,
            env={**env, "JOB": job},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for job in jobs
    ]
    try:
        for child in children:
            assert child.stdout.readline().strip() == "ready"
        for child in children:
            child.stdin.write("go\n")
            child.stdin.flush()
        outputs = [child.communicate(timeout=60)[0] for child in children]
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()
    assert [child.returncode for child in children] == [0] * len(children)
    return [output.strip().splitlines()[-1] for output in outputs]


def linked(subscriber, **fields):
    mailing = MailingFactory(subscriber=subscriber, complaint_count=1, **fields)
    ComplaintFactory(subscriber=subscriber, mailing=mailing, state="linked")
    return mailing


def test_two_staff_merging_two_mailings_into_each_other_leave_one(tmp_path):
    subscriber = SubscriberFactory()
    first, second = linked(subscriber), linked(subscriber)

    printed = at_once(
        [f"merge {first.pk} {second.pk}", f"merge {second.pk} {first.pk}"]
    )

    assert sorted(p.split(":")[0] for p in printed) == ["done", "refused"]
    states = sorted(
        Mailing.objects.filter(subscriber=subscriber).values_list("state", flat=True)
    )
    assert states == [Mailing.State.DISMISSED, Mailing.State.OPEN]
    survivor = Mailing.objects.get(subscriber=subscriber, state="open")
    assert survivor.complaint_count == 2


def test_a_strike_issued_while_its_mailing_is_merged_follows_or_is_refused(tmp_path):
    subscriber = SubscriberFactory()
    target, source = linked(subscriber), linked(subscriber)

    printed = at_once([f"merge {target.pk} {source.pk}", f"strike {source.pk}"])

    assert printed[0] == "done"
    live = Strike.objects.filter(subscriber=subscriber, revoked_at__isnull=True)
    if printed[1] == "done":  # struck first: the strike moved with the merge
        assert [s.mailing_id for s in live] == [target.pk]
    else:  # merged first: the closed source cannot be struck
        assert "dismissed" in printed[1]
        assert not live.exists()
