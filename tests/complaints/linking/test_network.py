"""complaints.linking.network: which hosts and addresses are the ISP's own."""

import pytest

from complaints.ingest.report import Hop
from complaints.linking.network import IspNetwork, is_never_client, network_of

ISP = IspNetwork.from_lists(
    relays=["smtp1.out.isp.example", "81.200.31.0/28"],
    mx=["mx1.isp.example"],
    webmail=["81.200.31.10"],
    domains=["isp.example"],
)


@pytest.mark.parametrize(
    ("address", "never"),
    [
        ("127.0.0.1", True),
        ("::1", True),
        ("fe80::1", True),
        ("0.0.0.0", True),  # noqa: S104 - an address to classify, not to bind
        ("224.0.0.5", True),
        ("not an address", True),
        ("2001:db8:42::17", False),
        ("10.1.2.3", False),
        ("198.51.100.7", False),
    ],
)
def test_only_addresses_no_subscriber_can_send_from_are_never_clients(address, never):
    assert is_never_client(address) is never


@pytest.mark.parametrize(
    ("hop", "infrastructure"),
    [
        (Hop(from_ip="81.200.31.2"), True),
        (Hop(from_rdns="smtp1.out.isp.example", from_ip="192.0.2.1"), True),
        (Hop(from_ip="81.200.31.10"), True),
        (Hop(from_rdns="mx1.isp.example"), True),
        (Hop(from_rdns="dyn-7.pool.isp.example", from_ip="198.51.100.7"), False),
        (Hop(from_ip="45.9.8.7"), False),
    ],
)
def test_the_isps_own_servers_are_recognised_by_name_or_address(hop, infrastructure):
    assert ISP.client_is_infrastructure(hop) is infrastructure


def test_a_line_written_by_a_host_in_the_isps_domains_is_the_isps():
    assert ISP.receiver_is_isp(Hop(by_host="relay9.isp.example"))
    assert not ISP.receiver_is_isp(Hop(by_host="mx.google.example"))


@pytest.mark.parametrize(
    ("address", "network"),
    [("198.51.100.7", "198.51.100.0/24"), ("2001:db8:42::17", "2001:db8:42::/48")],
)
def test_client_networks_are_a_slash_24_or_a_slash_48(address, network):
    assert network_of(address) == network
