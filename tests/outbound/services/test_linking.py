"""Submissions to the mailings complaints found: by trace token or relay queue id;
the real recipient count, and the bounce-storm rule decided on it."""

from datetime import timedelta

import pytest
import redis
from django.utils import timezone

from abusedesk.tracetoken import TracePayload
from accounts.models import Subscriber
from accounts.status_cache import STATUS_KEY
from complaints.models import Mailing, MailingKey
from outbound.models import Submission
from outbound.services.linking import submissions_link
from outbound.trace import trace_sign
from tests.accounts.factories import SubscriberFactory
from tests.complaints.factories import MailingFactory

pytestmark = pytest.mark.django_db


def submission(subscriber, **fields):
    base = dict(
        relay_host="relay.test",
        queue_id="4ABCDEFGHJ",
        decided_at=timezone.now(),
        subscriber=subscriber,
        recipient_count=10,
        action="dunno",
        rule="pass",
    )
    return Submission.objects.create(**{**base, **fields})


def test_a_trace_token_links_its_submission_and_sets_the_real_count():
    sub = SubscriberFactory()
    mailing = MailingFactory(subscriber=sub, recipient_count=2)
    token = trace_sign(TracePayload("relay.test", "4ABCDEFGHJ", 1, sub.pk, "bob"))
    submission(sub, trace_token=token, recipient_count=400)
    submission(sub, queue_id="4OTHER0000", recipient_count=7)
    MailingKey.objects.create(mailing=mailing, kind=MailingKey.Kind.TRACE, value=token)
    assert submissions_link(now=timezone.now()) == 1
    mailing.refresh_from_db()
    assert (mailing.recipient_count, mailing.recipient_source) == (400, "outbound")
    assert submissions_link(now=timezone.now()) == 0


def test_a_forged_token_links_nothing():
    sub = SubscriberFactory()
    mailing = MailingFactory(subscriber=sub)
    submission(sub, trace_token="forged")
    MailingKey.objects.create(
        mailing=mailing, kind=MailingKey.Kind.TRACE, value="forged"
    )
    assert submissions_link(now=timezone.now()) == 0


def test_a_queue_id_links_only_the_same_subscribers_submission_near_the_mailing():
    sub, other = SubscriberFactory(), SubscriberFactory()
    mailing = MailingFactory(subscriber=sub)
    near = submission(sub)
    submission(other, decided_at=timezone.now() + timedelta(seconds=1))
    submission(sub, decided_at=timezone.now() - timedelta(days=30))
    MailingKey.objects.create(
        mailing=mailing, kind=MailingKey.Kind.QUEUE_ID, value="4ABCDEFGHJ"
    )
    assert submissions_link(now=timezone.now()) == 1
    near.refresh_from_db()
    assert near.mailing == mailing


def test_bounce_storm_on_the_real_count_suspends_and_reaches_the_policy_cache(
    settings, committed
):
    settings.ABUSE_BOGUS_MIN, settings.ABUSE_BOGUS_RATE = 25, 0.10
    sub = SubscriberFactory()
    mailing = MailingFactory(subscriber=sub, hard_bounce_count=25)
    token = trace_sign(TracePayload("relay.test", "4ABCDEFGHJ", 1, sub.pk, "bob"))
    submission(sub, trace_token=token, recipient_count=200)
    MailingKey.objects.create(mailing=mailing, kind=MailingKey.Kind.TRACE, value=token)
    committed(submissions_link, now=timezone.now())
    mailing.refresh_from_db()
    sub.refresh_from_db()
    assert (mailing.recipient_count, mailing.state) == (200, Mailing.State.STRUCK)
    assert sub.status == Subscriber.Status.SUSPENDED
    cache = redis.Redis.from_url(settings.REDIS_URL, decode_responses=True)
    assert cache.hget(STATUS_KEY, str(sub.pk)) == "suspended"


def test_the_real_count_keeps_a_big_mailing_with_few_bounces_from_a_storm(settings):
    settings.ABUSE_BOGUS_MIN, settings.ABUSE_BOGUS_RATE = 25, 0.10
    sub = SubscriberFactory()
    mailing = MailingFactory(subscriber=sub, hard_bounce_count=30)
    token = trace_sign(TracePayload("relay.test", "4ABCDEFGHJ", 1, sub.pk, "bob"))
    submission(sub, trace_token=token, recipient_count=10_000)
    MailingKey.objects.create(mailing=mailing, kind=MailingKey.Kind.TRACE, value=token)
    submissions_link(now=timezone.now())
    mailing.refresh_from_db()
    sub.refresh_from_db()
    assert mailing.state == Mailing.State.OPEN
    assert sub.status == Subscriber.Status.ACTIVE
