"""Subscriber lookup and the strike history."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts import selectors
from accounts.models import Action
from tests.accounts.factories import (
    ActionFactory,
    IPAssignmentFactory,
    MailAccountFactory,
    SubscriberFactory,
)
from tests.complaints.factories import MailingFactory, StrikeFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def abigail(db):
    subscriber = SubscriberFactory(
        account_number="B0000042",
        name="Abigail Garner",
        contact_email="abigail@customer.example",
    )
    MailAccountFactory(subscriber=subscriber, login="agarner", address="ag@isp.example")
    return subscriber


def _found(query, **kwargs):
    return selectors.subscriber_search(query=query, **kwargs).subscribers


@pytest.mark.parametrize(
    "query",
    [
        "B0000042",
        "b0000042",
        "agarner",
        "AGarner",
        "ag@isp.example",
        "abigail@customer.example",
        "Abigail G",
        "abig",
    ],
)
def test_search_finds_the_subscriber_by_each_identifier(abigail, query):
    assert _found(query) == [abigail]


def test_exact_identifier_wins_over_names(abigail):
    SubscriberFactory(name="agarner's shop")
    search = selectors.subscriber_search(query="agarner")
    assert search.subscribers == [abigail]
    assert search.matched_by == selectors.MatchedBy.IDENTIFIER


def test_name_matches_from_its_start_only(abigail):
    assert _found("Garner") == []


def test_empty_query_finds_nothing(abigail):
    assert _found("   ") == []


def test_search_is_bounded_and_says_so():
    for number in range(5):
        SubscriberFactory(name=f"Smith {number}")
    search = selectors.subscriber_search(query="smith", limit=3)
    assert len(search.subscribers) == 3
    assert search.is_truncated


def test_ip_search_finds_the_holder_of_an_address_inside_a_network(abigail):
    IPAssignmentFactory(subscriber=abigail, network="192.0.2.0/24")
    search = selectors.subscriber_search(query="192.0.2.77")
    assert search.subscribers == [abigail]
    assert search.matched_by == selectors.MatchedBy.IP


def test_ip_search_finds_ipv6_holders(abigail):
    IPAssignmentFactory(subscriber=abigail, network="2001:db8:5::/48")
    assert _found("2001:db8:5:1::9") == [abigail]
    assert _found("2001:db8:6::1") == []


def test_ip_search_at_a_time_finds_who_held_it_then(abigail):
    now = timezone.now()
    later = SubscriberFactory()
    IPAssignmentFactory(
        subscriber=abigail,
        network="198.51.100.7",
        valid_from=now - timedelta(days=60),
        valid_to=now - timedelta(days=30),
    )
    IPAssignmentFactory(
        subscriber=later, network="198.51.100.7", valid_from=now - timedelta(days=30)
    )
    assert _found("198.51.100.7", at=now - timedelta(days=45)) == [abigail]
    assert _found("198.51.100.7", at=now) == [later]
    assert {s.pk for s in _found("198.51.100.7")} == {abigail.pk, later.pk}


def test_network_starts_cover_every_prefix():
    starts = selectors._network_starts("0" * 24 + "c0000201")
    assert "0" * 32 in starts
    assert "0" * 24 + "c0000200" in starts
    assert "0" * 24 + "c0000201" in starts


def test_history_has_live_and_revoked_strikes_status_changes_and_notices(abigail):
    now = timezone.now()
    live = StrikeFactory(mailing=MailingFactory(subscriber=abigail, subject="Offer"))
    StrikeFactory(
        mailing=MailingFactory(subscriber=abigail, subject="Old"),
        revoked_at=now,
        revoke_reason="Not a bulk mailing",
    )
    ActionFactory(
        subscriber=abigail,
        kind=Action.Kind.SUSPENSION,
        reason="Strike 3 of 3",
        notice_template="suspension",
        notified_at=now,
    )
    ActionFactory(subscriber=abigail, kind=Action.Kind.NOTE, reason="Called us")
    history = selectors.subscriber_history(subscriber=abigail)
    assert history.live_strike_count == 1
    assert live in history.strikes
    assert [a.kind for a in history.status_changes] == [Action.Kind.SUSPENSION]
    assert [a.notice_label for a in history.notices] == ["Suspension notice"]
    events = [event.event for event in history.events]
    assert events.count("Strike") == 2
    assert "Strike revoked" in events
    assert "Notice: Suspension notice" in events
    assert "Note" not in events


def test_history_takes_a_fixed_number_of_queries(abigail, django_assert_num_queries):
    for _ in range(5):
        StrikeFactory(mailing=MailingFactory(subscriber=abigail))
    with django_assert_num_queries(3):
        history = selectors.subscriber_history(subscriber=abigail)
        [(s.mailing.subject, s.issued_by) for s in history.strikes]
        history.events  # noqa: B018


def test_history_from_a_short_timeline_matches_the_queried_one(abigail):
    StrikeFactory(mailing=MailingFactory(subscriber=abigail))
    ActionFactory(
        subscriber=abigail, kind=Action.Kind.SUSPENSION, notice_template="suspension"
    )
    ActionFactory(
        subscriber=abigail, kind=Action.Kind.WARNING, notice_template="warning"
    )
    recent = list(selectors.subscriber_timeline(subscriber=abigail))
    derived = selectors.subscriber_history(subscriber=abigail, recent=recent)
    queried = selectors.subscriber_history(subscriber=abigail)
    assert derived.status_changes == queried.status_changes
    assert derived.notices == queried.notices
    assert derived.events == queried.events
