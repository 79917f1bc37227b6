"""Records from the stream into rows: once each, held messages into one batch
per burst, suspect logins flagged."""

import json
from datetime import timedelta

import pytest
import redis
from django.conf import settings
from django.utils import timezone

from complaints.models import Mailing
from outbound.models import LoginAlert, Submission
from outbound.policy.recorder import STREAM_KEY
from outbound.services.drain import (
    submissions_drain,
    submissions_purge,
    submissions_record,
)
from tests.accounts.factories import MailAccountFactory
from tests.outbound.conftest import clear_outbound_keys

pytestmark = pytest.mark.django_db


def record(**fields):
    base = {
        "h": "relay.test",
        "q": "4ABC123DEF",
        "t": timezone.now().timestamp(),
        "l": "bob",
        "s": None,
        "c": "192.0.2.7",
        "f": "bob@isp.example",
        "n": 3,
        "z": 1200,
        "a": "dunno",
        "r": "pass",
        "x": "",
        "k": "",
        "p": False,
    }
    return {**base, **fields}


@pytest.fixture
def stream():
    clear_outbound_keys(settings.REDIS_URL)
    client = redis.Redis.from_url(settings.REDIS_URL)
    yield client
    clear_outbound_keys(settings.REDIS_URL)


def test_drain_writes_each_record_once_and_empties_the_stream(stream):
    sub = MailAccountFactory(login="bob").subscriber
    batch = [record(q=f"4ABC{n}23DEF", s=sub.pk) for n in range(3)]
    stream.xadd(STREAM_KEY, {"r": json.dumps(batch)})
    stream.xadd(STREAM_KEY, {"r": json.dumps(batch)})  # a repeat adds nothing
    summary = submissions_drain()
    assert summary.entries == 2
    assert Submission.objects.filter(subscriber=sub).count() == 3
    assert stream.xlen(STREAM_KEY) == 0
    assert submissions_drain().entries == 0


def test_held_messages_of_one_burst_form_one_batch_and_later_ones_join():
    sub = MailAccountFactory(login="bob").subscriber
    now = timezone.now()
    first = [
        record(
            q=f"4HELD{n}AAAA",
            s=sub.pk,
            a="hold",
            r="burst",
            x="burst",
            t=(now + timedelta(seconds=n)).timestamp(),
        )
        for n in range(2)
    ]
    submissions_record(records=first)
    submissions_record(records=first)
    later = record(
        q="4HELD9AAAA",
        s=sub.pk,
        a="hold",
        r="burst",
        n=5,
        t=(now + timedelta(minutes=3)).timestamp(),
    )
    submissions_record(records=[later])
    batch = Mailing.objects.get(source=Mailing.Source.HOLD)
    assert batch.state == Mailing.State.HELD and batch.sender == "bob"
    assert batch.submissions.count() == 3
    assert batch.recipient_count == 3 + 3 + 5
    assert batch.recipient_source == Mailing.RecipientSource.OUTBOUND


def test_a_burst_after_the_window_opens_a_new_batch():
    sub = MailAccountFactory(login="bob").subscriber
    now = timezone.now()
    submissions_record(
        records=[record(s=sub.pk, a="hold", r="burst", t=now.timestamp())]
    )
    submissions_record(
        records=[
            record(
                s=sub.pk,
                a="hold",
                r="burst",
                q="4OTHER0AAA",
                t=(now + timedelta(hours=2)).timestamp(),
            )
        ]
    )
    assert Mailing.objects.filter(source=Mailing.Source.HOLD).count() == 2


def test_a_suspect_login_opens_one_alert_and_a_timeline_note():
    sub = MailAccountFactory(login="bob").subscriber
    submissions_record(
        records=[record(s=sub.pk, p=True), record(s=sub.pk, p=True, q="4SECOND0AA")]
    )
    assert LoginAlert.objects.filter(login="bob", closed_at__isnull=True).count() == 1
    assert sub.actions.filter(reason__startswith="Likely compromised").count() == 1


def test_purge_keeps_what_a_mailing_rests_on(settings):
    settings.ABUSE_SUBMISSION_RETENTION_DAYS = 30
    sub = MailAccountFactory(login="bob").subscriber
    old = (timezone.now() - timedelta(days=40)).timestamp()
    submissions_record(
        records=[
            record(t=old),
            record(t=old, q="4KEPT00AAA", s=sub.pk, a="hold", r="burst"),
        ]
    )
    assert submissions_purge(now=timezone.now()) == 1
    assert Submission.objects.get().queue_id == "4KEPT00AAA"
