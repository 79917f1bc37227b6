"""Finding the subscriber and the mailing of each report of a batch (DESIGN.md,
step 4): the database side of ``complaints.linking``.

``LinkIndex.load`` fetches, in a few queries, every login, address, account
number and strong key (Message-ID, queue id, trace token) a batch mentions;
``LinkIndex.resolve_ip`` answers "whose address was this at that time" through
the IP assignments, once per address and hour. ``link_one`` then walks the
trail and weighs the clues with the pure functions of ``complaints.linking``.
Grouping into mailings is ``complaints.services.recording.batch_link``'s.
"""

from __future__ import annotations

import email.utils
import functools
import time
from collections.abc import Container, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection
from django.utils.crypto import salted_hmac

from abusedesk import tracetoken
from accounts.models import MailAccount, Subscriber
from accounts.selectors import (
    ip_assignments_holding_many,
    mail_domains_common,
    subscriber_ids_by_ip,
)
from complaints.ingest import ComplaintSource, OriginalMessage, Report
from complaints.linking import attribution, dates, grouping, network, subjects, trace
from complaints.linking.attribution import Clue, Finding
from complaints.models import MailingKey

KEY_LENGTH = 255
_ISP_CACHE: dict[str, tuple[float, network.IspNetwork]] = {}
_ISP_CACHE_SECONDS = 300


def parse_date(value: str | None) -> datetime | None:
    """An RFC 5322 or mail-client date as an aware datetime, or None."""
    return dates.parse_date(value)


def isp_network() -> network.IspNetwork:
    """The ISP's servers and domains from the settings; the mail domains most
    subscribers' addresses use stand in when ABUSE_ISP_DOMAINS is empty."""
    key = "|".join(
        ",".join(getattr(settings, name))
        for name in (
            "ABUSE_RELAY_HOSTS",
            "ABUSE_MX_HOSTS",
            "ABUSE_WEBMAIL_CLIENTS",
            "ABUSE_ISP_DOMAINS",
        )
    )
    cached = _ISP_CACHE.get(key)
    if cached and time.monotonic() - cached[0] < _ISP_CACHE_SECONDS:
        return cached[1]
    domains = settings.ABUSE_ISP_DOMAINS or mail_domains_common()
    built = network.IspNetwork.from_lists(
        relays=settings.ABUSE_RELAY_HOSTS,
        mx=settings.ABUSE_MX_HOSTS,
        webmail=settings.ABUSE_WEBMAIL_CLIENTS,
        domains=domains,
    )
    _ISP_CACHE[key] = (time.monotonic(), built)
    return built


def trace_key() -> bytes:
    """The key of the trace tokens the desk's policy service stamps, derived from
    SECRET_KEY so no second secret needs handling; changing SECRET_KEY makes
    older tokens unverifiable (they then link by queue id)."""
    return _trace_key_of(settings.SECRET_KEY)


@functools.lru_cache(maxsize=4)
def _trace_key_of(secret: str) -> bytes:
    # Derived once per secret, not once per report.
    return salted_hmac("abusedesk.tracetoken", "outbound trace", secret=secret).digest()


def sender_addresses(original: OriginalMessage) -> list[str]:
    return list(_addresses(original.from_, original.mail_from))


@functools.lru_cache(maxsize=4096)
def _addresses(*values: str | None) -> tuple[str, ...]:
    found = []
    for value in values:
        if value:
            _name, address = email.utils.parseaddr(value)
            if "@" in address:
                found.append(address.lower())
    return tuple(dict.fromkeys(found))


def mailing_keys(original: OriginalMessage) -> list[tuple[str, str]]:
    """The strong keys of a reported message: its trace token, its queue ids
    and its Message-ID."""
    keys: list[tuple[str, str]] = []
    token = trace.read_trace(original.trace).token
    if token:
        keys.append((MailingKey.Kind.TRACE, token[:KEY_LENGTH]))
    queue = [*original.queue_ids, *(h.queue_id for h in original.hops if h.queue_id)]
    keys += [(MailingKey.Kind.QUEUE_ID, q[:KEY_LENGTH]) for q in dict.fromkeys(queue)]
    if original.message_id:
        keys.append((MailingKey.Kind.MESSAGE_ID, original.message_id[:KEY_LENGTH]))
    return keys


@dataclass(frozen=True)
class Link:
    """What linking found for one report."""

    attribution: attribution.Attribution
    trail: attribution.Trail
    at: datetime
    keyed_mailing_id: int | None
    subject_key: str
    # The message's strong keys (``mailing_keys``), read once.
    keys: tuple[tuple[str, str], ...] = ()

    @property
    def subscriber_id(self) -> int | None:
        return self.attribution.subscriber_id

    @property
    def needs_confirmation(self) -> bool:
        decided = self.attribution.decided_by
        return (
            decided is not None
            and decided.clue == attribution.Clue.SENDER
            and not self.trail.has_trail
        )

    @property
    def shows_compromise(self) -> bool:
        return self.trail.is_direct_to_mx or self.trail.foreign_network is not None

    @property
    def is_owner_relayed(self) -> bool:
        """Through the ISP's relays from the attributed subscriber's own address."""
        return (
            self.trail.passed_isp
            and self.trail.client_subscriber_id is not None
            and self.trail.client_subscriber_id == self.subscriber_id
            and not self.shows_compromise
        )

    def signals(self, original: OriginalMessage) -> grouping.ReportSignals:
        senders = sender_addresses(original)
        return grouping.ReportSignals(
            sender=senders[0] if senders else None,
            is_direct_to_mx=self.trail.is_direct_to_mx,
            foreign_network=self.trail.foreign_network,
            client_network=network.network_of(self.trail.client_ip),
            login=(self.trail.login or "").lower() or None,
        )

    def evidence(self) -> dict:
        data = self.attribution.to_json()
        data["client_ip"] = self.trail.client_ip
        data["client_at"] = (
            self.trail.client_at.isoformat() if self.trail.client_at else None
        )
        data["passed_isp"] = self.trail.passed_isp
        data["direct_to_mx"] = self.trail.is_direct_to_mx
        data["foreign_network"] = self.trail.foreign_network
        return data


@dataclass
class LinkIndex:
    """Everything a batch's reports point at, fetched in a few queries."""

    by_login: dict[str, int] = field(default_factory=dict)
    by_address: dict[str, int] = field(default_factory=dict)
    by_account: dict[str, int] = field(default_factory=dict)
    by_key: dict[tuple[str, str], tuple[int, int]] = field(default_factory=dict)
    ip_cache: dict[tuple[str, int], int | None] = field(default_factory=dict)
    # The IP assignments of the batch's client addresses during ``ip_span``,
    # fetched at once (``ip_holders_load``); a time outside it is looked up
    # on its own.
    ip_holders: dict[str, list[IpHolding]] = field(default_factory=dict)
    ip_span: tuple[datetime, datetime] | None = None

    @classmethod
    def load(
        cls, originals: Iterable[OriginalMessage], *, times: Iterable[datetime] = ()
    ) -> LinkIndex:
        """``times`` are the reports' fallback clocks (``report_time``): with
        the dates of their Received lines and Arrival-Dates they bound the
        moments the batch asks "whose address was this" about."""
        logins, addresses, accounts, keys = set(), set(), set(), set()
        client_ips: set[str] = set()
        moments = list(times)
        for original in originals:
            for hop in original.hops:
                if hop.login:
                    logins.add(hop.login.strip().lower())
                if hop.from_ip:
                    client_ips.add(hop.from_ip)
                moments.append(parse_date(hop.date))
            if original.source_ip:
                client_ips.add(original.source_ip)
            moments.append(parse_date(original.arrival_date))
            logins.update(login.lower() for _host, login in original.relay_logins)
            if original.login:
                logins.add(original.login.strip().lower())
            facts = trace.read_trace(original.trace)
            logins.update([facts.login] if facts.login else [])
            accounts.update([facts.account] if facts.account else [])
            addresses.update(sender_addresses(original))
            keys.update(mailing_keys(original))
        index = cls()
        # Two queries, each on its own unique index: an OR of the two makes
        # PostgreSQL scan the table.
        accounts_rows = MailAccount.objects.values_list(
            "login", "address", "subscriber_id"
        )
        rows = [
            *(accounts_rows.filter(login__in=logins) if logins else ()),
            *(accounts_rows.filter(address__in=addresses) if addresses else ()),
        ]
        for login, address, subscriber_id in rows:
            if login in logins:
                index.by_login[login] = subscriber_id
            index.by_address.setdefault(address.lower(), subscriber_id)
        if accounts:
            index.by_account = dict(
                Subscriber.objects.filter(account_number__in=accounts).values_list(
                    "account_number", "pk"
                )
            )
        if keys:
            index.by_key = _keys_lookup(keys)
        known = [m for m in moments if m is not None]
        clients = {ip for ip in client_ips if not network.is_never_client(ip)}
        if known and clients:
            index.ip_span = (min(known), max(known))
            index.ip_holders = ip_holders_load(clients, *index.ip_span)
        return index

    def resolve_ip(self, address: str, at: datetime) -> int | None:
        """The subscriber assigned ``address`` at ``at`` (cached per hour)."""
        slot = (address, int(at.timestamp()) // 3600)
        if slot not in self.ip_cache:
            self.ip_cache[slot] = self._ip_holder(address, at)
        return self.ip_cache[slot]

    def _ip_holder(self, address: str, at: datetime) -> int | None:
        # One holder or none: an address two subscribers held at once proves
        # nothing (the same answer as subscriber_ids_by_ip with limit=2).
        span = self.ip_span
        if address in self.ip_holders and span and span[0] <= at <= span[1]:
            found = {
                holding.subscriber_id
                for holding in self.ip_holders[address]
                if holding.valid_from <= at
                and (holding.valid_to is None or holding.valid_to > at)
            }
            return next(iter(found)) if len(found) == 1 else None
        found_ids = subscriber_ids_by_ip(address=address, at=at, limit=2)
        return found_ids[0] if len(found_ids) == 1 else None

    def findings(
        self,
        original: OriginalMessage,
        trail: attribution.Trail,
        keys: Iterable[tuple[str, str]],
    ) -> list[Finding]:
        found: list[Finding] = []
        login = (trail.login or (original.login if not trail.outside_ip else "")) or ""
        login = login.strip().lower()
        if login in self.by_login:
            found.append(Finding(Clue.LOGIN, self.by_login[login], login))
        facts = trace.read_trace(original.trace)
        signed = (
            tracetoken.verify(facts.token, key=trace_key()) if facts.token else None
        )
        traced = (
            (signed.subscriber_id if signed else None)
            or self.by_login.get(facts.login or "")
            or self.by_account.get(facts.account or "")
        )
        if traced:
            found.append(
                Finding(Clue.TRACE, traced, facts.login or facts.account or "")
            )
        for kind, value in keys:
            known = self.by_key.get((kind, value))
            if known is None:
                continue
            clue = _KEY_CLUES.get(kind, Clue.KNOWN_MESSAGE)
            found.append(Finding(clue, known[1], f"{value} of mailing #{known[0]}"))
        if trail.client_subscriber_id is not None:
            found.append(
                Finding(
                    Clue.CLIENT_IP, trail.client_subscriber_id, trail.client_ip or ""
                )
            )
        for address in sender_addresses(original):
            if address in self.by_address:
                found.append(Finding(Clue.SENDER, self.by_address[address], address))
        return found

    def keyed_mailing(
        self, keys: Iterable[tuple[str, str]], subscriber_id: int | None
    ) -> int | None:
        """A known mailing of this subscriber that a strong key names."""
        if subscriber_id is None:
            return None
        for key in keys:
            known = self.by_key.get(key)
            if known and known[1] == subscriber_id:
                return known[0]
        return None

    def link_one(
        self, report: Report, *, received_at: datetime, isp: network.IspNetwork
    ) -> Link:
        original = report.original or OriginalMessage()
        fallback = report_time(report, fallback=received_at)
        hop_ips = {hop.from_ip for hop in original.hops}
        source_ip = original.source_ip if original.source_ip not in hop_ips else None
        trail = attribution.walk_trail(
            original.hops,
            isp=isp,
            resolve_ip=self.resolve_ip,
            fallback_at=fallback,
            source_ip=source_ip,
            source_at=parse_date(original.arrival_date),
            relay_logins=original.relay_logins,
        )
        keys = tuple(mailing_keys(original))
        decided = attribution.attribute(
            self.findings(original, trail, keys), trail=trail
        )
        return Link(
            attribution=decided,
            trail=trail,
            at=trail.client_at or fallback,
            keyed_mailing_id=self.keyed_mailing(keys, decided.subscriber_id),
            subject_key=subjects.subject_key(original.subject),
            keys=keys,
        )


_KEY_CLUES = {
    MailingKey.Kind.TRACE: Clue.TRACE,
    MailingKey.Kind.QUEUE_ID: Clue.QUEUE_ID,
}


def report_time(report: Report, *, fallback: datetime) -> datetime:
    """When the reported message was received, by the most trustworthy clock:
    the newest Received stamp (the receiving server's), the feedback report's
    Arrival-Date, for a person's forward the date its mail client showed (when
    it is not after the report and at most a week before it), the report's own
    Date, else our own arrival. The spam's own Date header is never used alone:
    botnets forge it. A clock more than a year off ours is broken or forged."""
    original = report.original or OriginalMessage()
    candidates = [original.hops[0].date] if original.hops else []
    candidates.append(original.arrival_date)
    reported_at = parse_date(report.date)
    if report.complaint_source in (ComplaintSource.HUMAN, ComplaintSource.FORWARDED):
        shown = parse_date(original.date)
        limit = reported_at or fallback
        if shown is not None and limit - timedelta(days=7) <= shown <= limit + _SKEW:
            candidates.append(original.date)
    candidates.append(report.date)
    for value in candidates:
        when = parse_date(value)
        if when is not None and abs(when - fallback) < timedelta(days=365):
            return when
    return fallback


# Clocks of different servers disagree by minutes; a forward is not "after"
# the report for that.
_SKEW = timedelta(hours=1)


def _keys_lookup(keys: set[tuple[str, str]]) -> dict[tuple[str, str], tuple[int, int]]:
    values = {value for _kind, value in keys}
    rows = MailingKey.objects.filter(value__in=values).values_list(
        "kind", "value", "mailing_id", "mailing__subscriber_id"
    )
    return {(kind, value): (mailing, sub) for kind, value, mailing, sub in rows}


def ip_holders_load(
    addresses: Iterable[str], earliest: datetime, latest: datetime
) -> dict[str, list[IpHolding]]:
    """The IP assignments holding each address at some time between
    ``earliest`` and ``latest``, in one query for the whole batch. The one place
    linking reads IP assignments in bulk (``LinkIndex._ip_holder`` answers from
    it, or asks ``subscriber_ids_by_ip`` for a time outside the span)."""
    return {
        address: [IpHolding(*row) for row in rows]
        for address, rows in ip_assignments_holding_many(
            addresses=addresses, earliest=earliest, latest=latest
        ).items()
    }


@dataclass(frozen=True)
class IpHolding:
    subscriber_id: int
    valid_from: datetime
    valid_to: datetime | None


def mailing_keys_remember(
    pairs: Iterable[tuple[int, Iterable[tuple[str, str]]]],
    *,
    known: Container[tuple[str, str]] = (),
) -> None:
    """Record the strong keys seen for mailings, so later reports about the same
    messages link by key. A key already taken stays with its first mailing, so
    the ``known`` ones (found taken when the batch was loaded) are not sent."""
    rows: dict[tuple[str, str], int] = {}
    for mailing_id, keys in pairs:
        for key in keys:
            if key not in known:
                # As before: of two mailings of one batch, the later one's.
                rows[key] = mailing_id
    if rows:
        _keys_insert(rows)


def _keys_insert(rows: dict[tuple[str, str], int]) -> None:
    """INSERT the keys, skipping any another batch took meanwhile. A batch
    brings a key or two per report; as model instances they cost more than
    the rest of recording them."""
    if connection.vendor != "postgresql":
        MailingKey.objects.bulk_create(
            [MailingKey(mailing_id=m, kind=k, value=v) for (k, v), m in rows.items()],
            ignore_conflicts=True,
        )
        return
    kinds, values, mailings = [], [], []
    for (kind, value), mailing_id in rows.items():
        kinds.append(kind)
        values.append(value)
        mailings.append(mailing_id)
    table = MailingKey._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (kind, value, mailing_id)"  # noqa: S608  (a model's table name)
            " SELECT * FROM unnest(CAST(%s AS text[]), CAST(%s AS text[]),"
            " CAST(%s AS bigint[])) ON CONFLICT DO NOTHING",
            [kinds, values, mailings],
        )
