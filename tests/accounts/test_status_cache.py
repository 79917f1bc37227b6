"""The account-status cache in the real Redis: every status change writes it
after commit, imports too, and a full load rebuilds it."""

import time

import pytest
import redis
from django.conf import settings

from accounts.models import Subscriber
from accounts.services.status import subscriber_reinstate, subscriber_suspend
from accounts.status_cache import (
    LOGIN_KEY,
    STATUS_KEY,
    status_cache_accounts_sync,
    status_cache_load,
)
from tests.accounts.factories import MailAccountFactory, SubscriberFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def cache():
    client = redis.Redis.from_url(settings.REDIS_URL, decode_responses=True)
    client.delete(LOGIN_KEY, STATUS_KEY)
    yield client
    client.delete(LOGIN_KEY, STATUS_KEY)


def test_a_suspension_reaches_the_cache_when_it_commits(cache, committed):
    subscriber = MailAccountFactory(login="eve").subscriber
    committed(subscriber_suspend, subscriber=subscriber, actor=None, reason="storm")
    assert cache.hget(STATUS_KEY, str(subscriber.pk)) == "suspended"
    committed(subscriber_reinstate, subscriber=subscriber, actor=None, reason="appeal")
    assert cache.hget(STATUS_KEY, str(subscriber.pk)) == "active"


def test_a_change_that_rolls_back_never_reaches_the_cache(
    cache, django_capture_on_commit_callbacks
):
    subscriber = SubscriberFactory()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        subscriber_suspend(subscriber=subscriber, actor=None, reason="storm")
    assert callbacks and cache.hget(STATUS_KEY, str(subscriber.pk)) is None


def test_sync_writes_logins_and_statuses(cache):
    account = MailAccountFactory(
        login="frank", subscriber=SubscriberFactory(status=Subscriber.Status.RESTRICTED)
    )
    status_cache_accounts_sync(subscriber_ids=[account.subscriber_id])
    assert cache.hget(LOGIN_KEY, "frank") == str(account.subscriber_id)
    assert cache.hget(STATUS_KEY, str(account.subscriber_id)) == "restricted"


def test_a_full_load_rebuilds_and_forgets_removed_logins(cache):
    cache.hset(LOGIN_KEY, "gone", "999999")
    account = MailAccountFactory(login="grace")
    assert status_cache_load(now=time.time()) >= 1
    assert cache.hget(LOGIN_KEY, "grace") == str(account.subscriber_id)
    assert cache.hget(LOGIN_KEY, "gone") is None
