"""Subscriber lookup."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts import selectors
from tests.accounts.factories import (
    IPAssignmentFactory,
    MailAccountFactory,
    SubscriberFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def harbour(db):
    subscriber = SubscriberFactory(
        account_number="B0000042",
        name="Harbour Bakery",
        contact_email="harbour@customer.example",
    )
    MailAccountFactory(subscriber=subscriber, login="abakery", address="ag@isp.example")
    return subscriber


def _found(query, **kwargs):
    return selectors.subscriber_search(query=query, **kwargs).subscribers


@pytest.mark.parametrize(
    "query",
    [
        "B0000042",
        "b0000042",
        "abakery",
        "ABakery",
        "ag@isp.example",
        "harbour@customer.example",
        "Harbour B",
        "harb",
    ],
)
def test_search_finds_the_subscriber_by_each_identifier(harbour, query):
    assert _found(query) == [harbour]


def test_exact_identifier_wins_over_names(harbour):
    SubscriberFactory(name="abakery's shop")
    search = selectors.subscriber_search(query="abakery")
    assert search.subscribers == [harbour]
    assert search.matched_by == selectors.MatchedBy.IDENTIFIER


def test_name_matches_from_its_start_only(harbour):
    assert _found("Bakery") == []


def test_empty_query_finds_nothing(harbour):
    assert _found("   ") == []


def test_search_is_bounded_and_says_so():
    for number in range(5):
        SubscriberFactory(name=f"Smith {number}")
    search = selectors.subscriber_search(query="smith", limit=3)
    assert len(search.subscribers) == 3
    assert search.is_truncated


def test_ip_search_finds_the_holder_of_an_address_inside_a_network(harbour):
    IPAssignmentFactory(subscriber=harbour, network="192.0.2.0/24")
    search = selectors.subscriber_search(query="192.0.2.77")
    assert search.subscribers == [harbour]
    assert search.matched_by == selectors.MatchedBy.IP


def test_ip_search_finds_ipv6_holders(harbour):
    IPAssignmentFactory(subscriber=harbour, network="2001:db8:5::/48")
    assert _found("2001:db8:5:1::9") == [harbour]
    assert _found("2001:db8:6::1") == []


def test_ip_search_at_a_time_finds_who_held_it_then(harbour):
    now = timezone.now()
    later = SubscriberFactory()
    IPAssignmentFactory(
        subscriber=harbour,
        network="198.51.100.7",
        valid_from=now - timedelta(days=60),
        valid_to=now - timedelta(days=30),
    )
    IPAssignmentFactory(
        subscriber=later, network="198.51.100.7", valid_from=now - timedelta(days=30)
    )
    assert _found("198.51.100.7", at=now - timedelta(days=45)) == [harbour]
    assert _found("198.51.100.7", at=now) == [later]
    assert {s.pk for s in _found("198.51.100.7")} == {harbour.pk, later.pk}


def test_network_starts_cover_every_prefix():
    starts = selectors._network_starts("0" * 24 + "c0000201")
    assert "0" * 32 in starts
    assert "0" * 24 + "c0000200" in starts
    assert "0" * 24 + "c0000201" in starts


def test_batch_ip_lookup_agrees_with_the_single_lookup_for_every_address_and_time(
    harbour,
):
    """Ingest asks about a whole batch's client addresses in one query; each
    answer must be what the one-address lookup says, networks, IPv6, leases
    passed on and overlapping holders included."""
    now = timezone.now()
    other = SubscriberFactory()
    IPAssignmentFactory(subscriber=harbour, network="192.0.2.0/24")
    IPAssignmentFactory(
        subscriber=other,
        network="198.51.100.7",
        valid_from=now - timedelta(days=60),
        valid_to=now - timedelta(days=10),
    )
    IPAssignmentFactory(
        subscriber=harbour, network="198.51.100.7", valid_from=now - timedelta(days=10)
    )
    IPAssignmentFactory(subscriber=other, network="2001:db8:5::/48")
    IPAssignmentFactory(subscriber=harbour, network="2001:db8:5:1::/64")
    addresses = ["192.0.2.77", "198.51.100.7", "2001:db8:5:1::9", "2001:db8:5::1"]
    addresses += ["203.0.113.1", "not an address"]
    earliest, latest = now - timedelta(days=40), now
    holdings = selectors.ip_assignments_holding_many(
        addresses=addresses, earliest=earliest, latest=latest
    )
    assert "not an address" not in holdings
    for address in addresses[:-1]:
        for at in (earliest, now - timedelta(days=20), now - timedelta(days=5), now):
            batch = {
                subscriber
                for subscriber, valid_from, valid_to in holdings[address]
                if valid_from <= at and (valid_to is None or valid_to > at)
            }
            single = set(selectors.subscriber_ids_by_ip(address=address, at=at))
            assert batch == single, (address, at)
    assert holdings["203.0.113.1"] == []
    assert len({s for s, _f, _t in holdings["2001:db8:5:1::9"]}) == 2
