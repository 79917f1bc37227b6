"""Reads about subscribers: lookup, detail and the timeline (the strike history,
which asks the strike policy, is complaints/selectors_subscribers.py).

Lookups are written for a desk with hundreds of thousands of subscribers: every
query here is an indexed lookup or bounded by a limit, and lists come back with
their related rows joined, so pages make no query per row.
"""

import functools
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from django.db import connection
from django.db.models import (
    BooleanField,
    Count,
    Expression,
    F,
    Q,
    QuerySet,
)

from accounts.models import (
    Action,
    IPAssignment,
    MailAccount,
    Subscriber,
    address_for_block_lookup,
    ip_to_key,
    is_ip_address,
)

# A mailing's JSON columns, which the subscriber pages never show (looked up by
# name: accounts never imports complaints).
MAILING_JSON_FIELDS = (
    "subject_variants",
    "signals",
    "held_recipients",
    "held_queue_ids",
)
# Most subscribers one search shows; a longer list is refined, not paged through.
SEARCH_LIMIT = 50
# Entries of the timeline shown on the subscriber page (the export has them all).
TIMELINE_LIMIT = 200
# The kinds of action that change whether the subscriber may send.
STATUS_KINDS = (
    Action.Kind.SUSPENSION,
    Action.Kind.TERMINATION,
    Action.Kind.REINSTATEMENT,
    Action.Kind.RESTRICTION,
    Action.Kind.STATUS_IMPORTED,
)
# Status changes and notices listed in the history; more means a data problem.
HISTORY_LIMIT = 500


class MatchedBy:
    """How a search found its subscribers, for the results page."""

    IP = "IP address"
    IDENTIFIER = "account number, login or address"
    NAME = "name"


@dataclass(frozen=True)
class SubscriberSearch:
    subscribers: list[Subscriber] = field(default_factory=list)
    matched_by: str = ""
    is_truncated: bool = False


def subscriber_get(*, pk: int) -> Subscriber:
    return Subscriber.objects.get(pk=pk)


def subscriber_search(
    *, query: str, at: datetime | None = None, limit: int = SEARCH_LIMIT
) -> SubscriberSearch:
    """Find subscribers by IP address, exact identifier or the start of the name.

    Exact identifiers win: an IP address returns only its holders (at ``at``, if
    given); an account number, login, mail address or contact address that
    matches returns only those subscribers; only when none matches is the query
    taken as the start of a name. At most ``limit`` subscribers come back.
    """
    query = query.strip()
    if not query:
        return SubscriberSearch()
    if is_ip_address(query):
        ids = subscriber_ids_by_ip(address=query, at=at, limit=limit + 1)
        return _bounded(_by_ids(ids), limit, MatchedBy.IP)
    ids = subscriber_ids_by_identifier(identifier=query)
    if ids:
        return _bounded(_by_ids(ids), limit, MatchedBy.IDENTIFIER)
    return _bounded(subscriber_by_name(prefix=query), limit, MatchedBy.NAME)


def _by_ids(ids: list[int]) -> QuerySet[Subscriber]:
    return Subscriber.objects.filter(pk__in=ids).order_by()


def _bounded(
    subscribers: QuerySet[Subscriber], limit: int, matched_by: str
) -> SubscriberSearch:
    # One row more than shown tells whether the list was cut, without a COUNT.
    rows = list(subscribers[: limit + 1])
    shown = sorted(
        rows[:limit], key=lambda subscriber: (subscriber.name, subscriber.pk)
    )
    return SubscriberSearch(shown, matched_by, len(rows) > limit)


def subscriber_ids_by_identifier(*, identifier: str) -> list[int]:
    """Subscribers whose account number, login, mail address or contact address
    is exactly ``identifier``.

    Two queries of equalities on unique or indexed columns: logins and addresses
    are stored lowercased, account numbers are tried as typed and uppercased,
    contact addresses as typed and lowercased. They are separate queries because
    one query with ``OR`` across the two tables makes PostgreSQL scan subscribers.
    """
    lowered = identifier.lower()
    owners = MailAccount.objects.filter(
        Q(login=lowered) | Q(address=lowered)
    ).values_list("subscriber_id", flat=True)
    direct = Subscriber.objects.filter(
        Q(account_number__in={identifier, identifier.upper()})
        | Q(contact_email__in={identifier, lowered})
    ).values_list("pk", flat=True)
    return list(dict.fromkeys([*owners[:SEARCH_LIMIT], *direct[:SEARCH_LIMIT]]))


def subscriber_by_name(*, prefix: str) -> QuerySet[Subscriber]:
    """Subscribers whose name starts with ``prefix``, in any case, unordered.

    ``istartswith`` is ``UPPER(name::text) LIKE 'PREFIX%'`` on PostgreSQL, which
    an expression index on ``Upper("name")`` with ``text_pattern_ops`` answers
    (``icontains`` could use no btree index at all). Left unordered so that a
    limit stops the scan early: ``ORDER BY name`` would fetch and sort every
    match of a short prefix first, thousands of rows.
    """
    return Subscriber.objects.filter(name__istartswith=prefix).order_by()


def subscriber_by_ip(
    *, address: str, at: datetime | None = None
) -> QuerySet[Subscriber]:
    """Subscribers assigned ``address`` (at ``at``, if given; else at any time)."""
    return Subscriber.objects.filter(
        pk__in=_assignments_holding(address=address, at=at).values("subscriber_id")
    )


def subscriber_ids_by_ip(
    *, address: str, at: datetime | None = None, limit: int = SEARCH_LIMIT
) -> list[int]:
    """Up to ``limit`` ids of the subscribers assigned ``address``. Fetched on their
    own: joined to subscribers and sorted by name, the planner walks the name
    index through every subscriber instead."""
    assignments = _assignments_holding(address=address, at=at)
    ids = assignments.values_list("subscriber_id", flat=True).distinct()
    return list(ids[:limit])


def _assignments_holding(*, address: str, at: datetime | None) -> QuerySet:
    """Assignments whose network holds ``address`` (at ``at``, if given): the one
    lookup support search and ingest's linking both use.

    On PostgreSQL one GiST search over ``block`` and the validity window
    (migration 0008 of accounts): a dynamic address leased to a thousand
    customers over the years costs the same as a static one.
    Elsewhere (SQLite) the key columns: a CIDR network holding the address
    starts at the address with its host bits cleared, so the candidates are the
    129 possible network starts, an ``IN`` list the range index answers exactly
    (a range test ``start <= key <= end`` would scan every row below the key).
    """
    if connection.vendor == "postgresql":
        assignments = IPAssignment.objects.filter(
            NetworkHolds(address_for_block_lookup(address))
        )
        if at is not None:
            assignments = assignments.filter(ValidAt(at))
        return assignments.order_by()
    key = ip_to_key(address)
    assignments = IPAssignment.objects.filter(
        range_start__in=_network_starts(key), range_end__gte=key
    )
    if at is not None:
        assignments = assignments.filter(valid_from__lte=at).filter(
            Q(valid_to__isnull=True) | Q(valid_to__gt=at)
        )
    return assignments.order_by()


def ip_assignments_holding_many(
    *, addresses: Iterable[str], earliest: datetime, latest: datetime
) -> dict[str, list[tuple[int, datetime, datetime | None]]]:
    """(subscriber id, valid from, valid to) of the assignments holding each of
    ``addresses`` at some time between ``earliest`` and ``latest``: what
    ``subscriber_ids_by_ip`` answers one address and moment at a time, for a
    whole ingest batch in one query on the same index (every possible network
    start of every address). An address that is no IP address is left out."""
    keys = {}
    for address in addresses:
        try:
            keys[address] = ip_to_key(address)
        except ValueError:
            continue
    if not keys:
        return {}
    starts = {address: _network_starts(key) for address, key in keys.items()}
    wanted = sorted({start for found in starts.values() for start in found})
    by_start: dict[str, list[tuple]] = {}
    for start, *rest in _assignments_starting_at(
        wanted, end_from=min(keys.values()), earliest=earliest, latest=latest
    ):
        by_start.setdefault(start, []).append(tuple(rest))
    return {
        address: [
            (subscriber_id, valid_from, valid_to)
            for start in starts[address]
            for end, subscriber_id, valid_from, valid_to in by_start.get(start, ())
            if end >= key
        ]
        for address, key in keys.items()
    }


def _assignments_starting_at(
    starts: list[str], *, end_from: str, earliest: datetime, latest: datetime
) -> list[tuple]:
    """(start, end, subscriber id, valid from, valid to) of the assignments
    starting at one of ``starts`` and valid at some time in the span."""
    if connection.vendor == "postgresql":
        # One array parameter, not thousands of placeholders, written as one
        # array literal (the keys are hex digits, nothing to quote): the
        # statement's text stays the same from batch to batch and PostgreSQL,
        # not Python, reads the thousands of values.
        table = IPAssignment._meta.db_table
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT range_start, range_end, subscriber_id, valid_from, valid_to"  # noqa: S608  (a model's table name)
                f" FROM {table} WHERE range_start = ANY(CAST(%s AS text[]))"
                " AND range_end >= %s"
                " AND valid_from <= %s AND (valid_to IS NULL OR valid_to > %s)",
                ["{" + ",".join(starts) + "}", end_from, latest, earliest],
            )
            return cursor.fetchall()
    rows = []
    # Chunks keep the IN list within SQLite's parameter limit.
    for first in range(0, len(starts), 10_000):
        rows += (
            IPAssignment.objects.filter(
                range_start__in=starts[first : first + 10_000],
                range_end__gte=end_from,
                valid_from__lte=latest,
            )
            .filter(Q(valid_to__isnull=True) | Q(valid_to__gt=earliest))
            .order_by()
            .values_list(
                "range_start", "range_end", "subscriber_id", "valid_from", "valid_to"
            )
        )
    return rows


class _ColumnsTest(Expression):
    """A PostgreSQL test over some of the row's columns (resolved as Django
    resolves any column, so it holds in subqueries too) and one parameter."""

    conditional = True
    output_field = BooleanField()
    columns: tuple[str, ...] = ()
    template = ""

    def __init__(self, value):
        super().__init__()
        self.value = value
        self.sources = [F(name) for name in self.columns]

    def get_source_expressions(self):
        return self.sources

    def set_source_expressions(self, exprs):
        self.sources = list(exprs)

    def as_sql(self, compiler, connection):
        compiled = [compiler.compile(source) for source in self.sources]
        params = [param for _sql, source_params in compiled for param in source_params]
        sql = self.template.format(*(sql for sql, _params in compiled))
        return sql, [*params, self.value]


class NetworkHolds(_ColumnsTest):
    """``block >>= address``: the GiST index's first column."""

    columns = ("block",)
    template = "{0} >>= %s::inet"


class ValidAt(_ColumnsTest):
    """The assignment's window holds ``at``, written as the very range
    expression the GiST index holds, so the index answers it. Equal to
    ``valid_from <= at AND (valid_to IS NULL OR valid_to > at)``."""

    columns = ("valid_from", "valid_to")
    template = "tstzrange({0}, {1}, '[)') @> %s::timestamptz"


@functools.lru_cache(maxsize=8192)
def _network_starts(key: str) -> tuple[str, ...]:
    # Remembered: ingest asks about the same client addresses again and again.
    value = int(key, 16)
    starts = {value >> bits << bits for bits in range(129)}
    return tuple(f"{start:032x}" for start in sorted(starts))


def subscriber_timeline(*, subscriber: Subscriber) -> QuerySet[Action]:
    """The timeline, newest first (each entry names its notice as
    ``Action.notice_label``: building that as a CASE in SQL cost the subscriber
    page more than the rest of the query)."""
    return subscriber.actions.select_related("actor", "mailing", "strike").defer(
        # The mailing's JSON (variants, signals, held batch) is read by no
        # timeline entry nor notice, and decoding it was most of a row's cost.
        *(f"mailing__{name}" for name in MAILING_JSON_FIELDS)
    )


def subscriber_list_with_counts() -> QuerySet[Subscriber]:
    return Subscriber.objects.annotate(mailing_total=Count("mailings"))


def mail_domains_common(*, sample: int = 5000, min_share: float = 0.1) -> list[str]:
    """The mail domains that at least ``min_share`` of (a sample of) the
    subscribers' addresses use: the ISP's own domains, when no setting names
    them. A few thousand rows by primary key, never a scan."""
    addresses = MailAccount.objects.order_by("pk").values_list("address", flat=True)
    counts: dict[str, int] = {}
    total = 0
    for address in addresses[:sample]:
        domain = address.rpartition("@")[2].lower()
        if domain:
            counts[domain] = counts.get(domain, 0) + 1
            total += 1
    return sorted(d for d, n in counts.items() if total and n / total >= min_share)
