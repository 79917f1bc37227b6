"""Shared fixtures: staff users of each role and the common domain rows."""

import pytest
from django.contrib.auth.models import Group, User
from django.core.cache import cache

from tests.accounts.factories import SubscriberFactory
from tests.complaints.factories import MailingFactory

STAFF_PASSWORD = "correct horse battery staple"


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Rate limits and cached figures must not leak from one test to the next."""
    cache.clear()


def _user_in_group(username: str, group: str) -> User:
    user = User.objects.create_user(username=username, password=STAFF_PASSWORD)
    # Transactional tests flush the tables, including the groups the migration made.
    user.groups.add(Group.objects.get_or_create(name=group)[0])
    return user


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
