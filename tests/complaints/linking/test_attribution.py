"""complaints.linking.attribution: the trusted trail and the precedence of clues."""

from datetime import UTC, datetime

import pytest

from complaints.ingest.report import Hop
from complaints.linking.attribution import Clue, Finding, Trail, attribute, walk_trail
from complaints.linking.network import IspNetwork

ISP = IspNetwork.from_lists(
    relays=["relay1.isp.example", "203.0.113.5"],
    mx=["mx.isp.example"],
    webmail=["192.0.2.80"],
    domains=["isp.example"],
)
NOW = datetime(2026, 9, 4, 12, 0, tzinfo=UTC)
# Who held which address when: 198.51.100.23 was Bob's (1) until noon, then Eve's (2).
ASSIGNED = {
    "198.51.100.23": lambda at: 1 if at.hour < 12 else 2,
    "2001:db8:42::17": lambda at: 3,
}


def resolve(ip, at):
    holder = ASSIGNED.get(ip)
    return holder(at) if holder else None


def walk(*hops, source_ip=None):
    return walk_trail(
        hops, isp=ISP, resolve_ip=resolve, fallback_at=NOW, source_ip=source_ip
    )


MX_FROM_RELAY = Hop(
    from_name="relay1.isp.example",
    from_ip="203.0.113.5",
    by_host="mx.google.example",
    date="Fri, 4 Sep 2026 10:00:05 +0000",
)


def test_relayed_mail_finds_login_client_and_relay_queue_id():
    trail = walk(
        MX_FROM_RELAY,
        Hop(
            from_ip="198.51.100.23",
            by_host="relay1.isp.example",
            login="bob",
            queue_id="4ABC123",
            date="Fri, 4 Sep 2026 10:00:01 +0000",
        ),
    )
    assert trail.passed_isp and trail.login == "bob"
    assert (trail.client_ip, trail.client_subscriber_id) == ("198.51.100.23", 1)
    assert trail.relay_queue_ids == ("4ABC123",)
    assert not trail.is_direct_to_mx


def test_direct_to_mx_uses_the_receiving_servers_clock_not_the_spam_date():
    # The MX stamped 13:00 (Eve's time); the spam's Date: said 09:00 (Bob's).
    trail = walk(
        Hop(
            from_ip="198.51.100.23",
            by_host="mx.victim.example",
            date="Fri, 4 Sep 2026 13:00:00 +0000",
        )
    )
    assert trail.client_subscriber_id == 2
    assert trail.is_direct_to_mx


def test_ipv6_documentation_addresses_are_clients_when_assigned():
    trail = walk(Hop(from_ip="2001:db8:42::17", by_host="mx.victim.example"))
    assert trail.client_subscriber_id == 3


def test_forged_lines_below_the_first_outside_client_are_not_trusted():
    trail = walk(
        Hop(from_ip="45.9.8.7", by_host="mx.victim.example"),
        # Forged by the spammer: would frame Bob.
        Hop(from_ip="198.51.100.23", by_host="relay1.isp.example", login="bob"),
    )
    assert trail.outside_ip == "45.9.8.7"
    assert trail.client_subscriber_id is None and trail.login is None
    assert not trail.passed_isp


def test_login_used_from_a_network_that_is_not_the_isps_is_foreign():
    trail = walk(
        MX_FROM_RELAY,
        Hop(from_ip="185.220.101.4", by_host="relay1.isp.example", login="bob"),
    )
    assert trail.foreign_network == "185.220.101.0/24"


def test_arf_source_ip_is_a_client_when_assigned():
    trail = walk(source_ip="2001:db8:42::17")
    assert trail.client_subscriber_id == 3


PASSED = Trail(passed_isp=True, has_trail=True)
OUTSIDE = Trail(passed_isp=False, has_trail=True, outside_ip="45.9.8.7")
NO_TRAIL = Trail(has_trail=False)


@pytest.mark.parametrize(
    ("findings", "trail", "subscriber", "forged"),
    [
        # Relay facts beat the client address, which beats the sender.
        (
            [Finding(Clue.SENDER, 5, "a@isp.example"), Finding(Clue.LOGIN, 1, "bob")],
            PASSED,
            1,
            False,
        ),
        (
            [Finding(Clue.SENDER, 5, "x"), Finding(Clue.CLIENT_IP, 2, "ip")],
            Trail(client_subscriber_id=2, has_trail=True),
            2,
            False,
        ),
        (
            [Finding(Clue.TRACE, 7, "t"), Finding(Clue.CLIENT_IP, 2, "ip")],
            PASSED,
            7,
            False,
        ),
        # The sender alone: trusted after the ISP's servers, forged from outside.
        ([Finding(Clue.SENDER, 5, "a@isp.example")], PASSED, 5, False),
        ([Finding(Clue.SENDER, 5, "a@isp.example")], OUTSIDE, None, True),
        # No trail at all to check the sender against: low-confidence sender.
        ([Finding(Clue.SENDER, 5, "a@isp.example")], NO_TRAIL, 5, False),
        ([], OUTSIDE, None, False),
    ],
)
def test_precedence_of_clues(findings, trail, subscriber, forged):
    result = attribute(findings, trail=trail)
    assert (result.subscriber_id, result.is_forged) == (subscriber, forged)


def test_disagreeing_clues_are_kept_with_the_decision():
    result = attribute(
        [
            Finding(Clue.CLIENT_IP, 2, "198.51.100.23"),
            Finding(Clue.SENDER, 5, "a@isp.example"),
        ],
        trail=Trail(client_subscriber_id=2, has_trail=True),
    )
    assert result.decided_by.clue == Clue.CLIENT_IP
    assert [f.subscriber_id for f in result.disagreeing] == [5]
    assert result.confidence == "medium"


def test_a_login_a_relay_recorded_in_its_own_header_counts_for_the_hop_it_wrote():
    trail = walk_trail(
        (
            MX_FROM_RELAY,
            Hop(
                from_ip="185.220.101.4", by_host="relay1.isp.example", queue_id="1CAf0b"
            ),
        ),
        isp=ISP,
        resolve_ip=resolve,
        fallback_at=NOW,
        relay_logins=[("relay1.isp.example", "bob")],
    )
    assert trail.login == "bob"
    assert trail.foreign_network == "185.220.101.0/24"


def test_a_login_header_naming_a_host_that_is_not_the_isps_is_ignored():
    trail = walk_trail(
        (Hop(from_ip="45.9.8.7", by_host="mx.victim.example"),),
        isp=ISP,
        resolve_ip=resolve,
        fallback_at=NOW,
        relay_logins=[("mx.victim.example", "bob")],
    )
    assert trail.login is None


def test_an_unnamed_relay_that_took_an_authenticated_submission_is_passed():
    bare_isp = IspNetwork.from_lists()
    hops = (
        Hop(
            from_rdns="out.relay.example",
            from_ip="192.0.2.25",
            by_host="mx.victim.example",
        ),
        Hop(
            from_ip="198.51.100.23",
            by_host="out.relay.example",
            login="bob",
            date="Fri, 4 Sep 2026 10:00:00 +0000",
        ),
    )
    trail = walk_trail(hops, isp=bare_isp, resolve_ip=resolve, fallback_at=NOW)
    assert trail.login == "bob" and trail.passed_isp
    assert trail.client_subscriber_id == 1


def test_a_helo_name_alone_does_not_make_a_chain():
    bare_isp = IspNetwork.from_lists()
    hops = (
        Hop(
            from_name="out.relay.example",
            from_ip="45.9.8.7",
            by_host="mx.victim.example",
        ),
        Hop(from_ip="198.51.100.23", by_host="out.relay.example", login="bob"),
    )
    trail = walk_trail(hops, isp=bare_isp, resolve_ip=resolve, fallback_at=NOW)
    assert trail.outside_ip == "45.9.8.7" and trail.login is None
