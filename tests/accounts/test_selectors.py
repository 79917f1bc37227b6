"""Subscriber lookup."""

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from accounts import selectors
from accounts.models import IPAssignment, ip_to_key, network_to_block
from accounts.selectors import _assignments_holding, subscriber_ids_by_ip
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


# The IP lookup: on PostgreSQL the GiST search over ``block`` and the window,
# elsewhere the key columns; both give the answers of the plain range test
# start <= key <= end over every row, which they replace.

IP_NETWORKS = [
    "192.0.2.7",
    "192.0.2.0/24",
    "192.0.2.64/28",
    "198.51.100.77/22",  # host bits set: the network holding them
    "10.0.0.0/8",
    "2001:db8:5::/48",
    "2001:db8:5:100::/56",
    "2001:db8:5:100:1::/64",
    "2001:db8:ffff::1",
    "::ffff:203.0.113.0/120",  # IPv4-mapped: the same addresses as 203.0.113.0/24
    "203.0.113.128/25",
]
IP_PROBES = [
    "192.0.2.7",
    "192.0.2.8",
    "192.0.2.70",
    "192.0.2.255",
    "192.0.3.0",
    "198.51.100.1",
    "198.51.103.255",
    "198.51.104.0",
    "10.255.255.255",
    "11.0.0.0",
    "2001:db8:5::1",
    "2001:db8:5:1ff::1",
    "2001:db8:5:100:1:2:3:4",
    "2001:db8:5:100:2::1",
    "2001:db8:6::1",
    "2001:db8:ffff::1",
    "2001:db8:ffff::2",
    "203.0.113.5",
    "203.0.113.200",
    "::ffff:203.0.113.5",
    "::ffff:192.0.2.7",
    "::1",
]


@pytest.fixture
def ip_history():
    now = timezone.now()
    windows = [
        (now - timedelta(days=90), None),
        (now - timedelta(days=90), now - timedelta(days=30)),
        (now - timedelta(days=30), now - timedelta(days=1)),
    ]
    for n, network in enumerate(IP_NETWORKS):
        for valid_from, valid_to in windows[: 1 + n % 3]:
            IPAssignmentFactory(
                network=network, valid_from=valid_from, valid_to=valid_to
            )
    return now


def _holders_by_range(address: str, at) -> set[int]:
    key = ip_to_key(address)
    return {
        row.subscriber_id
        for row in IPAssignment.objects.all()
        if row.range_start <= key <= row.range_end
        and (at is None or row.valid_from <= at)
        and (at is None or row.valid_to is None or row.valid_to > at)
    }


@pytest.mark.parametrize("vendor_path", ["database", "keys"])
def test_ip_lookup_gives_the_range_tests_answers(ip_history, vendor_path, monkeypatch):
    if vendor_path == "keys":
        # The path SQLite takes, run here on the same rows.
        monkeypatch.setattr(connection, "vendor", "sqlite")
    now = ip_history
    for address in IP_PROBES:
        for at in (None, now, now - timedelta(days=60), now - timedelta(days=10)):
            expected = _holders_by_range(address, at)
            found = subscriber_ids_by_ip(address=address, at=at, limit=100)
            assert set(found) == expected, (address, at)
            assert len(found) == len(expected)


def test_every_assignment_has_its_block():
    assignment = IPAssignmentFactory(network=" 198.51.100.77/22 ")

    assignment.refresh_from_db()

    assert assignment.block == "198.51.100.0/22"
    assert network_to_block("::ffff:203.0.113.0/120") == "203.0.113.0/24"
    assert network_to_block("2001:db8:5:100::1/56") == "2001:db8:5:100::/56"


def test_ip_lookup_on_postgresql_searches_the_gist_index(ip_history):
    if connection.vendor != "postgresql":
        pytest.skip("the GiST index is PostgreSQL's")
    with connection.cursor() as cursor:
        cursor.execute("SET enable_seqscan = off")
    plan = _assignments_holding(address="192.0.2.70", at=ip_history).explain()

    assert "ipassignment_block_gist" in plan
