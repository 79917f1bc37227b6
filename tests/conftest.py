"""Shared fixtures: staff users of each role and the common domain rows."""

import django_rq
import pytest
from django.conf import settings
from django.contrib.auth.models import Group, User
from django.core.cache import cache
from rq import SimpleWorker

from complaints.services.wakeup import WAKE_KEY
from tests.accounts.factories import SubscriberFactory
from tests.complaints.factories import MailingFactory

STAFF_PASSWORD = "correct horse battery staple"


@pytest.fixture(autouse=True)
def _fresh_cache(request):
    """Rate limits and cached figures must not leak from one test to the next.

    Only the cache's own keys go (not RQ's, which share the Redis database), and
    only for tests that use the database: pure tests touch no service at all.
    """
    uses_db = request.node.get_closest_marker("django_db") or {
        "db",
        "transactional_db",
        "live_server",
    } & set(request.fixturenames)
    if uses_db:
        client = cache._cache.get_client(write=True)
        keys = list(client.scan_iter(f"{settings.CACHES['default']['KEY_PREFIX']}:*"))
        if keys:
            client.delete(*keys)
        # A wake-up left by an earlier test would make this one's arrivals
        # believe a drain job is already queued.
        django_rq.get_connection("ingest").delete(WAKE_KEY)
        # The ISP's domains default to those of the subscribers in the database
        # and are kept for minutes per process: one test's subscribers must not
        # decide another's linking.
        from complaints.services import linking

        linking._ISP_CACHE.clear()


def _user_in_group(username: str, group: str) -> User:
    user = User.objects.create_user(username=username, password=STAFF_PASSWORD)
    # Transactional tests flush the tables, including the groups the migration made.
    user.groups.add(Group.objects.get_or_create(name=group)[0])
    return user


@pytest.fixture
def ingest_queue():
    """The real ingest queue, empty before and after the test, with no wake-up
    pending."""
    queue = django_rq.get_queue("ingest")
    queue.empty()
    queue.connection.delete(WAKE_KEY)
    yield queue
    queue.empty()
    queue.connection.delete(WAKE_KEY)


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """Call a service and run its on-commit callbacks, as a real commit would."""

    def call(service, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return service(**kwargs)

    return call


@pytest.fixture
def run_jobs():
    """Run what is queued, now, in this process, through a real RQ worker on the
    real Redis (``SimpleWorker`` does not fork, so it shares the test's
    transaction)."""

    def run(*queue_names: str) -> None:
        worker = django_rq.get_worker(
            *(queue_names or ("ingest", "default")), worker_class=SimpleWorker
        )
        worker.work(burst=True)

    return run


@pytest.fixture
def abuse_user(db) -> User:
    return _user_in_group("abby", "abuse")


@pytest.fixture
def support_user(db) -> User:
    return _user_in_group("sam", "support")


@pytest.fixture
def abuse_client(client, abuse_user):
    client.force_login(abuse_user)
    return client


@pytest.fixture
def support_client(client, support_user):
    client.force_login(support_user)
    return client


@pytest.fixture
def subscriber(db):
    return SubscriberFactory()


@pytest.fixture
def mailing(db, subscriber):
    return MailingFactory(subscriber=subscriber)
