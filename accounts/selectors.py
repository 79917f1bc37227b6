"""Reads about subscribers: lookup, detail, timeline and the strike history.

Lookups are written for a desk with hundreds of thousands of subscribers: every
query here is an indexed lookup or bounded by a limit, and lists come back with
their related rows joined, so pages make no query per row.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection
from django.db.models import (
    BooleanField,
    Case,
    CharField,
    Count,
    Expression,
    F,
    Q,
    QuerySet,
    Value,
    When,
)
from django.utils import timezone

from accounts.models import (
    Action,
    IPAssignment,
    MailAccount,
    Subscriber,
    address_for_block_lookup,
    ip_to_key,
    is_ip_address,
)

# The one exception to "accounts never imports complaints" (STYLE.md): the
# strike policy is a pure module with no imports of its own, and whether a strike
# is live must be its answer here too (ABUSE_STRIKE_WINDOW_DAYS).
from complaints import strikes as policy

# What each place on the way to the strike limit leads to, in words.
OUTCOME_WORDS = {
    policy.Outcome.NONE: "",
    policy.Outcome.WARN: "warning",
    policy.Outcome.FINAL_WARNING: "final warning",
    policy.Outcome.SUSPEND: "suspension",
}
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
# What the customer was told, by notice template (templates/accounts/email/).
NOTICE_LABELS = {
    "warning": "Warning",
    "final_warning": "Final warning",
    "suspension": "Suspension notice",
    "termination": "Termination notice",
    "reinstatement": "Reinstatement notice",
    "compromise_advice": "Security advice",
}


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


def _network_starts(key: str) -> list[str]:
    value = int(key, 16)
    starts = {value >> bits << bits for bits in range(129)}
    return [f"{start:032x}" for start in sorted(starts)]


def subscriber_timeline(*, subscriber: Subscriber) -> QuerySet[Action]:
    """The timeline, newest first, with the notice's name as ``notice_label``."""
    return subscriber.actions.select_related("actor", "mailing", "strike").annotate(
        notice_label=_notice_label()
    )


def _notice_label() -> Case:
    return Case(
        *(
            When(notice_template=template, then=Value(label))
            for template, label in NOTICE_LABELS.items()
        ),
        default="notice_template",
        output_field=CharField(),
    )


@dataclass(frozen=True)
class HistoryEvent:
    """One line of the exported history."""

    when: datetime
    event: str
    mailing_date: datetime | None = None
    subject: str = ""
    reason: str = ""
    detail: str = ""


@dataclass(frozen=True)
class StrikeSlot:
    """One place on the way to the limit: the live strike that fills it (or
    None), and what reaching it leads to."""

    number: int
    strike: object | None
    outcome: str
    expires_at: datetime | None = None


@dataclass(frozen=True)
class StrikeHistory:
    """What a support rep reads, or sends a customer who asks why: the strikes
    with their mailings, the status changes, and every notice the customer got.

    Which strikes are live is the policy's answer (complaints/strikes.py), for
    ``now`` and the window and limit in force (ABUSE_STRIKE_WINDOW_DAYS,
    ABUSE_STRIKE_LIMIT, read when the history is built)."""

    subscriber: Subscriber
    strikes: list = field(default_factory=list)
    status_changes: list[Action] = field(default_factory=list)
    notices: list[Action] = field(default_factory=list)
    now: datetime | None = None
    window: timedelta | None = None
    limit: int = 3

    def is_live(self, strike) -> bool:
        if strike.revoked_at is not None:
            return False
        now = self.now or timezone.now()
        return policy.is_live(issued_at=strike.issued_at, now=now, window=self.window)

    @property
    def live_strikes(self) -> list:
        return [strike for strike in self.strikes if self.is_live(strike)]

    @property
    def live_strike_count(self) -> int:
        return len(self.live_strikes)

    @property
    def standing(self) -> str:
        """ "2 of 3" """
        return policy.standing(live_strikes=self.live_strike_count, limit=self.limit)

    @property
    def slots(self) -> list[StrikeSlot]:
        """The live strikes against the limit, oldest first, then the places
        still empty; each with what it leads to."""
        live = self.live_strikes
        limit = max(self.limit, 1)
        return [
            StrikeSlot(
                number=n,
                strike=live[n - 1] if n <= len(live) else None,
                outcome=OUTCOME_WORDS[policy.outcome_for(live_strikes=n, limit=limit)],
                expires_at=(
                    live[n - 1].issued_at + self.window
                    if self.window and n <= len(live)
                    else None
                ),
            )
            for n in range(1, max(limit, len(live)) + 1)
        ]

    def strike_state(self, strike) -> str:
        if strike.revoked_at:
            return "revoked"
        return "live" if self.is_live(strike) else "expired"

    @property
    def events(self) -> list[HistoryEvent]:
        """Strikes, revocations, status changes and notices, oldest first. Staff
        names are left out: the history is what the customer may be sent."""
        events = []
        for strike in self.strikes:
            mailing = strike.mailing
            events.append(
                HistoryEvent(
                    when=strike.issued_at,
                    event="Strike",
                    mailing_date=mailing.first_seen,
                    subject=mailing.subject,
                    reason=strike.get_reason_display(),
                    detail=self.strike_state(strike),
                )
            )
            if strike.revoked_at:
                events.append(
                    HistoryEvent(
                        when=strike.revoked_at,
                        event="Strike revoked",
                        mailing_date=mailing.first_seen,
                        subject=mailing.subject,
                        reason=strike.get_reason_display(),
                        detail=strike.revoke_reason,
                    )
                )
        for action in self.status_changes:
            events.append(
                HistoryEvent(
                    when=action.created_at,
                    event=action.get_kind_display(),
                    detail=action.reason,
                )
            )
        for action in self.notices:
            events.append(
                HistoryEvent(
                    when=action.notified_at or action.created_at,
                    event=f"Notice: {action.notice_label}",
                    reason=action.get_kind_display(),
                    detail="sent" if action.notified_at else "not sent yet",
                )
            )
        return sorted(events, key=lambda event: event.when)


def subscriber_strikes(*, subscriber: Subscriber) -> QuerySet:
    """Live and revoked strikes, newest first, with their mailings joined."""
    return subscriber.strikes.select_related("mailing")


def subscriber_history(
    *, subscriber: Subscriber, recent: list[Action] | None = None
) -> StrikeHistory:
    """The strike history: at most three indexed queries, whatever its length.

    ``recent`` is the page's timeline (newest first, at most TIMELINE_LIMIT
    entries); when it is shorter than the limit it is the whole timeline, and the
    status changes and notices are taken from it instead of queried again.
    """
    strikes = list(subscriber_strikes(subscriber=subscriber).order_by("issued_at"))
    rules = {
        "now": timezone.now(),
        "window": policy.window_from_days(settings.ABUSE_STRIKE_WINDOW_DAYS),
        "limit": settings.ABUSE_STRIKE_LIMIT,
    }
    if recent is not None and len(recent) < TIMELINE_LIMIT:
        oldest_first = list(reversed(recent))
        return StrikeHistory(
            **rules,
            subscriber=subscriber,
            strikes=strikes,
            status_changes=[a for a in oldest_first if a.kind in STATUS_KINDS],
            notices=[a for a in oldest_first if a.notice_template],
        )
    timeline = subscriber_timeline(subscriber=subscriber).order_by("created_at", "pk")
    return StrikeHistory(
        **rules,
        subscriber=subscriber,
        strikes=strikes,
        status_changes=list(timeline.filter(kind__in=STATUS_KINDS)[:HISTORY_LIMIT]),
        notices=list(timeline.exclude(notice_template="")[:HISTORY_LIMIT]),
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
