"""The simulated ISP: its hosts, address space, subscribers and their leases.

Everything here is invented but shaped like a real access provider: two outbound
relays of different make, two inbound MX hosts, a webmail front end, dynamic
IPv4 pools whose addresses move from one customer to the next as leases
expire, static business blocks, and delegated IPv6 prefixes inside
2001:db8::/32. Nothing is imported from the desk.
"""

import heapq
import ipaddress
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from simulator import names

ISP_NAME = "Vialink"
ISP_DOMAINS = ("vialink.example", "vialink-mail.example", "vl-business.example")
MAIN_DOMAIN = ISP_DOMAINS[0]
TRACE_HEADER = "X-VL-Trace"


@dataclass(frozen=True)
class Host:
    name: str
    ip: str


RELAYS = (
    Host("smtp1.out.vialink.example", "81.200.31.1"),
    Host("smtp2.out.vialink.example", "81.200.31.2"),
)
MX_HOSTS = (
    Host("mx1.vialink.example", "81.200.31.20"),
    Host("mx2.vialink.example", "81.200.31.21"),
)
WEBMAIL = Host("webmail.vialink.example", "81.200.31.10")
# Home customers lease from these; the addresses are reused customer after customer.
DYNAMIC_POOLS = ("81.200.16.0/22", "81.200.20.0/23")
# Business customers get a small static block each, carved out of this one.
STATIC_BLOCK = "81.200.24.0/22"
# Delegated prefixes for dual-stack customers (documentation space, RFC 3849).
IPV6_BLOCK = "2001:db8:4a00::/40"


@dataclass(frozen=True)
class Lease:
    network: str
    start: datetime
    end: datetime | None  # None: still assigned at the end of the period

    def covers(self, at: datetime) -> bool:
        return self.start <= at and (self.end is None or at < self.end)


@dataclass
class MailLogin:
    login: str
    address: str
    is_webmail: bool = False


@dataclass
class Subscriber:
    account: str
    name: str
    contact_email: str
    kind: str  # home | business
    logins: list[MailLogin] = field(default_factory=list)
    leases: list[Lease] = field(default_factory=list)
    sender_domain: str = MAIN_DOMAIN
    language: str = "en"
    billing_status: str = "active"

    @property
    def address(self) -> str:
        return self.logins[0].address

    @property
    def login(self) -> str:
        return self.logins[0].login

    def v4_leases(self) -> list[Lease]:
        return [lease for lease in self.leases if ":" not in lease.network]

    def v6_prefix(self) -> str | None:
        found = [lease.network for lease in self.leases if ":" in lease.network]
        return found[0] if found else None

    def address_at(self, at: datetime) -> str | None:
        """The IPv4 address (or first address of the static block) held at ``at``."""
        for lease in self.v4_leases():
            if lease.covers(at):
                net = ipaddress.ip_network(lease.network)
                return str(net[1] if net.num_addresses > 2 else net[0])
        return None


@dataclass
class World:
    start: datetime
    end: datetime
    subscribers: list[Subscriber]
    # address -> [(lease, account)] in time order: who held a pool address when.
    holders: dict[str, list[tuple[Lease, str]]]

    def by_account(self) -> dict[str, Subscriber]:
        return {s.account: s for s in self.subscribers}

    def holder(self, address: str, at: datetime) -> str | None:
        for lease, account in self.holders.get(address, ()):
            if lease.covers(at):
                return account
        return None


def build(rng: random.Random, *, count: int, start: datetime, days: int) -> World:
    end = start + timedelta(days=days)
    subscribers = []
    used_logins: set[str] = set()
    business_nets = ipaddress.ip_network(STATIC_BLOCK).subnets(new_prefix=29)
    v6_nets = ipaddress.ip_network(IPV6_BLOCK).subnets(new_prefix=56)
    for n in range(count):
        kind = "business" if rng.random() < 0.25 else "home"
        sub = _subscriber(rng, n, kind, used_logins)
        if kind == "business":
            net = next(business_nets)
            since = start - timedelta(days=rng.randint(200, 900))
            sub.leases.append(Lease(str(net), since, None))
        if rng.random() < 0.45:
            prefix = next(v6_nets)
            # Some CPEs get a /56, others hand the customer a single /64.
            if rng.random() < 0.3:
                prefix = next(prefix.subnets(new_prefix=64))
            since = start - timedelta(days=rng.randint(30, 400))
            sub.leases.append(Lease(str(prefix), since, None))
        subscribers.append(sub)
    holders = _lease_pools(
        rng, [s for s in subscribers if s.kind == "home"], start, end
    )
    return World(start=start, end=end, subscribers=subscribers, holders=holders)


def _subscriber(
    rng: random.Random, n: int, kind: str, used_logins: set[str]
) -> Subscriber:
    first, last = rng.choice(names.FIRST_NAMES), rng.choice(names.LAST_NAMES)
    language = rng.choices(names.LANGUAGES, weights=(5, 3, 2, 1, 1))[0]
    account = f"VL{100000 + n * 7 + rng.randint(0, 6)}"
    if kind == "business":
        word = rng.choice(names.BUSINESS_WORDS)
        company = f"{last} {word}"
        slug = names.slug(f"{last}-{word}")
        domain = f"{slug}.example"
        sub = Subscriber(
            account=account,
            name=f"{company} {rng.choice(names.COMPANY_FORMS)}",
            contact_email=f"billing@{domain}",
            kind=kind,
            sender_domain=domain,
            language=language,
        )
        for local in ("info", rng.choice(("news", "newsletter", "angebote", "promo"))):
            login = _unique(f"{slug}.{local}", used_logins)
            sub.logins.append(MailLogin(login, f"{local}@{domain}"))
        owner = _unique(names.slug(f"{first}.{last}"), used_logins)
        sub.logins.append(MailLogin(owner, f"{owner}@{ISP_DOMAINS[2]}", True))
        return sub
    base = names.slug(f"{first}.{last}")
    login = _unique(base, used_logins)
    domain = rng.choices(ISP_DOMAINS[:2], weights=(4, 1))[0]
    sub = Subscriber(
        account=account,
        name=f"{first} {last}",
        contact_email=(
            f"{login}@{domain}" if rng.random() < 0.7 else f"{base}@freemail.example"
        ),
        kind=kind,
        language=language,
    )
    sub.logins.append(MailLogin(login, f"{login}@{domain}", rng.random() < 0.4))
    if rng.random() < 0.25:
        extra = _unique(f"{login}.family", used_logins)
        sub.logins.append(MailLogin(extra, f"{extra}@{domain}", True))
    return sub


def _unique(login: str, used: set[str]) -> str:
    candidate, n = login, 1
    while candidate in used:
        n += 1
        candidate = f"{login}{n}"
    used.add(candidate)
    return candidate


def _lease_pools(
    rng: random.Random, homes: list[Subscriber], start: datetime, end: datetime
) -> dict[str, list[tuple[Lease, str]]]:
    """Hand out pool addresses in leases of half a day to five days, so that one
    address serves several customers over the period (the clock matters)."""
    pool = [
        str(ip) for net in DYNAMIC_POOLS for ip in ipaddress.ip_network(net).hosts()
    ]
    # Fewer addresses than customers would be wrong; a pool about 1.6 times the
    # customers keeps addresses moving without running dry.
    size = min(len(pool), max(int(len(homes) * 1.6), 8))
    pool = rng.sample(pool, size)
    free_at = {ip: start - timedelta(days=3) for ip in pool}
    holders: dict[str, list[tuple[Lease, str]]] = {ip: [] for ip in pool}
    # Leases are handed out in time order across all customers, as a DHCP server does.
    due = [(start - timedelta(hours=rng.randint(1, 48)), n) for n in range(len(homes))]
    heapq.heapify(due)
    while due:
        moment, n = heapq.heappop(due)
        sub = homes[n]
        ready = sorted(ip for ip in pool if free_at[ip] <= moment)
        address = rng.choice(ready)
        stop = moment + timedelta(hours=rng.randint(12, 120))
        lease = Lease(address, moment, None if stop >= end else stop)
        sub.leases.append(lease)
        holders[address].append((lease, sub.account))
        free_at[address] = stop + timedelta(minutes=rng.randint(1, 30))
        if stop < end:
            # The router dials again at once and gets its next address: a
            # customer is never without one (a copy sent in a gap would come from
            # an address nobody held, which the truth could not explain).
            heapq.heappush(due, (stop, n))
    for entries in holders.values():
        entries.sort(key=lambda item: item[0].start)
    return holders


def csv_rows(world: World) -> list[dict[str, str]]:
    """The billing export, in ``import_subscribers`` format."""
    rows = []
    for sub in world.subscribers:
        accounts = ";".join(
            f"{m.login}:{m.address}{':webmail' if m.is_webmail else ''}"
            for m in sub.logins
        )
        leases = ";".join(
            f"{lease.network}@{_iso(lease.start)}..{_iso(lease.end) if lease.end else ''}"
            for lease in sub.leases
        )
        rows.append(
            {
                "account_number": sub.account,
                "name": sub.name,
                "contact_email": sub.contact_email,
                "status": sub.billing_status,
                "mail_accounts": accounts,
                "ip_assignments": leases,
            }
        )
    return rows


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def isp_env() -> dict[str, str]:
    return {
        "ABUSE_ISP_DOMAINS": ",".join(ISP_DOMAINS),
        "ABUSE_RELAY_HOSTS": ",".join(f"{h.name},{h.ip}" for h in RELAYS),
        "ABUSE_MX_HOSTS": ",".join(f"{h.name},{h.ip}" for h in MX_HOSTS),
        "ABUSE_WEBMAIL_CLIENTS": f"{WEBMAIL.name},{WEBMAIL.ip}",
        "ABUSE_TRACE_HEADER": TRACE_HEADER,
    }
