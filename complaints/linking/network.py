"""What the desk knows of the ISP's own mail network, and what a hop says of it.

``IspNetwork`` is built by the caller from settings (ABUSE_RELAY_HOSTS,
ABUSE_MX_HOSTS, ABUSE_WEBMAIL_CLIENTS, ABUSE_ISP_DOMAINS): host names, addresses
and networks of the outbound relays, the inbound MX, the webmail servers, and
the ISP's own mail domains. Nothing here reads settings or the database.

A hop is the ISP's *infrastructure* when its client is a relay, MX or webmail
server (by address or name), or is named in one of the ISP's domains without
being a subscriber's assigned address; its ``by`` host is the ISP's when it is
a relay or named in the ISP's domains.
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass, field

from complaints.ingest.report import Hop

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def _split(entries: Iterable[str]) -> tuple[frozenset[str], tuple[Network, ...]]:
    names, networks = set(), []
    for entry in entries:
        text = entry.strip().lower().rstrip(".")
        if not text:
            continue
        try:
            networks.append(ipaddress.ip_network(text, strict=False))
        except ValueError:
            names.add(text)
    return frozenset(names), tuple(networks)


# Read for every hop of every report, several times: remembered per process.
@functools.lru_cache(maxsize=16384)
def parse_ip(text: str | None) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    if not text:
        return None
    try:
        return ipaddress.ip_address(text.strip().strip("[]").split("%", 1)[0])
    except ValueError:
        return None


def is_never_client(text: str | None) -> bool:
    """Loopback, link-local, unspecified, multicast: no subscriber sends from
    these. Everything else may be an assigned address (IPv6 documentation and
    private ranges included): the IP assignments decide."""
    ip = parse_ip(text)
    return ip is None or (
        ip.is_loopback or ip.is_link_local or ip.is_unspecified or ip.is_multicast
    )


def is_private(text: str | None) -> bool:
    """RFC 1918 / unique-local space: only meaningful inside one network."""
    ip = parse_ip(text)
    if ip is None:
        return False
    if ip.version == 4:
        return any(ip in net for net in _RFC1918)
    return ip in _ULA


_RFC1918 = tuple(
    ipaddress.ip_network(net)
    for net in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")
)
_ULA = ipaddress.ip_network("fc00::/7")


@functools.lru_cache(maxsize=16384)
def network_of(text: str | None) -> str | None:
    """The client network of an address for "used from how many networks":
    /24 for IPv4, /48 for IPv6."""
    ip = parse_ip(text)
    if ip is None:
        return None
    prefix = 24 if ip.version == 4 else 48
    return str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False))


@dataclass(frozen=True)
class IspNetwork:
    relay_names: frozenset[str] = frozenset()
    relay_networks: tuple[Network, ...] = ()
    mx_names: frozenset[str] = frozenset()
    mx_networks: tuple[Network, ...] = ()
    webmail_names: frozenset[str] = frozenset()
    webmail_networks: tuple[Network, ...] = ()
    domains: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def from_lists(
        cls,
        *,
        relays: Iterable[str] = (),
        mx: Iterable[str] = (),
        webmail: Iterable[str] = (),
        domains: Iterable[str] = (),
    ) -> IspNetwork:
        relay_names, relay_networks = _split(relays)
        mx_names, mx_networks = _split(mx)
        webmail_names, webmail_networks = _split(webmail)
        return cls(
            relay_names=relay_names,
            relay_networks=relay_networks,
            mx_names=mx_names,
            mx_networks=mx_networks,
            webmail_names=webmail_names,
            webmail_networks=webmail_networks,
            domains=frozenset(d.strip().lower().lstrip("@") for d in domains if d),
        )

    def in_domains(self, name: str | None) -> bool:
        if not name:
            return False
        host = name.lower().rstrip(".")
        return any(host == d or host.endswith("." + d) for d in self.domains)

    def _is(self, names: frozenset[str], networks: tuple[Network, ...], hop_ip, *hosts):
        ip = parse_ip(hop_ip)
        if ip is not None and any(ip in net for net in networks):
            return True
        return any(host and host.lower() in names for host in hosts)

    def is_relay_host(self, name: str | None, ip: str | None = None) -> bool:
        return self._is(self.relay_names, self.relay_networks, ip, name)

    def is_webmail_client(self, ip: str | None, *names: str | None) -> bool:
        return self._is(self.webmail_names, self.webmail_networks, ip, *names)

    def client_is_infrastructure(self, hop: Hop) -> bool:
        """The hop's client is one of the ISP's own servers (relay, MX, webmail):
        the message came from inside the ISP, so the next older hop tells who
        submitted it."""
        hosts = (hop.from_rdns, hop.from_name)
        return (
            self._is(self.relay_names, self.relay_networks, hop.from_ip, *hosts)
            or self._is(self.mx_names, self.mx_networks, hop.from_ip, *hosts)
            or self._is(self.webmail_names, self.webmail_networks, hop.from_ip, *hosts)
        )

    def receiver_is_isp(self, hop: Hop) -> bool:
        """The hop was written by one of the ISP's servers."""
        return hop.by_host is not None and (
            hop.by_host in self.relay_names
            or hop.by_host in self.mx_names
            or hop.by_host in self.webmail_names
            or self.in_domains(hop.by_host)
        )

    def client_named_in_domains(self, hop: Hop) -> bool:
        return self.in_domains(hop.from_rdns) or self.in_domains(hop.from_name)
