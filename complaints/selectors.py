"""Reads about complaints, mailings, bounces and strikes. Querysets come back with
their related rows joined so that list pages make no query per row."""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db.models import BooleanField, Count, ExpressionWrapper, Max, Q, QuerySet
from django.db.models.functions import Substr, TruncDay, TruncHour
from django.utils import timezone

from abusedesk import counting, pagination
from abusedesk.pagination import KeysetPaginator
from accounts.models import Action, Subscriber
from complaints import strikes
from complaints.charts import Slot
from complaints.ingest import reasons
from complaints.models import (
    Bounce,
    Complaint,
    DailyReportCount,
    InboundMessage,
    Mailing,
    Strike,
)


def day_start(day: date) -> datetime:
    """The first instant of ``day`` in the current time zone (what ``__date``
    compares in): filters by day become ranges on indexed timestamps."""
    return timezone.make_aware(datetime.combine(day, time.min))


# The queue's sorts, by the ``order`` value: the sort key, then the time and the
# id, all one way, so that each is one index range (complaint_*_seen_idx).
QUEUE_SORT_KEYS = {
    "received": "received_at",
    "reference": "reference",
    "channel": "channel",
    "state": "state",
    "subject": "subject_key",
    "subscriber": "subscriber_id",
}
QUEUE_NULLABLE_SORTS = {"subscriber"}


def complaint_sort_keys(order: str) -> tuple[list[str], bool]:
    """The keyset keys for the queue sorted by ``order`` (newest first when it
    names no sort), and whether the first key may be null."""
    name = order.lstrip("-")
    if name not in QUEUE_SORT_KEYS:
        return ["-received_at", "-pk"], False
    sign = "-" if order.startswith("-") else ""
    keys = dict.fromkeys([QUEUE_SORT_KEYS[name], "received_at", "pk"])
    return [f"{sign}{key}" for key in keys], name in QUEUE_NULLABLE_SORTS


MAILING_SORT_KEYS = {
    "last_seen": "last_seen",
    "first_seen": "first_seen",
    "complaints": "complaint_count",
    "hard_bounces": "hard_bounce_count",
}


def mailing_sort_keys(order: str) -> list[str]:
    """The keyset keys for the mailings list sorted by ``order`` (most recently
    seen first when it names no sort); each key has its own index."""
    name = order.lstrip("-")
    if name not in MAILING_SORT_KEYS:
        return ["-last_seen", "-pk"]
    sign = "-" if order.startswith("-") else ""
    return [f"{sign}{MAILING_SORT_KEYS[name]}", f"{sign}pk"]


QUEUE_COLUMNS = (
    "reference",
    "received_at",
    "channel",
    "feedback_type",
    "subject",
    "subscriber",
    "is_forged",
    "forged_reason",
    "mailing",
    "state",
    "is_without_evidence",
)


def complaint_list() -> QuerySet[Complaint]:
    """The queue, newest first. ``subject_key`` is the indexed prefix the queue
    sorts subjects by."""
    return (
        Complaint.objects.select_related("subscriber")
        # Only the columns a queue row shows and sorts by: building the rest
        # (the mailing, the subscriber's details, the JSON) was most of the
        # page's ORM cost.
        .only(*QUEUE_COLUMNS, "subscriber__account_number")
        .annotate(subject_key=Substr("subject", 1, 100))
    )


def complaint_get(*, pk: int) -> Complaint:
    return Complaint.objects.select_related("subscriber", "mailing", "inbound").get(
        pk=pk
    )


def complaint_neighbours(
    *, queryset: QuerySet[Complaint], pk: int, order: str
) -> tuple[int | None, int | None]:
    """The complaints before and after ``pk`` in a filtered queue sorted by
    ``order``, as the queue's own keyset pages order it: two indexed lookups
    wherever the complaint stands (also once an action took it out of the
    filter)."""
    keys, nullable = complaint_sort_keys(order)
    paginator = KeysetPaginator(
        queryset, keys=keys, per_page=1, nullable_first_key=nullable
    )
    row = complaint_list().filter(pk=pk).first()
    if row is None:
        return None, None
    before, after = paginator.neighbours(row)
    return (before.pk if before else None), (after.pk if after else None)


def complaints_by_ids(*, ids: list[int]) -> QuerySet[Complaint]:
    return Complaint.objects.filter(pk__in=ids).order_by("pk")


def mailing_get(*, pk: int) -> Mailing:
    return Mailing.objects.select_related("subscriber").get(pk=pk)


def mailing_get_with_strike(*, pk: int) -> tuple[Mailing, Strike | None]:
    """The mailing page's mailing and its strike (at most one, ever) with who
    issued and revoked it, in one query."""
    mailing = Mailing.objects.select_related(
        "subscriber", "strike__issued_by", "strike__revoked_by"
    ).get(pk=pk)
    try:
        return mailing, mailing.strike
    except Strike.DoesNotExist:
        return mailing, None


def mailing_search(
    *, query: str, subscriber_id: int | None = None
) -> QuerySet[Mailing]:
    """Mailings to link a complaint to: by number, by account number, or by
    subject text; the complaint's own subscriber's mailings first."""
    mailings = Mailing.objects.select_related("subscriber").order_by("-last_seen")
    query = query.strip()
    if query.isdigit():
        return mailings.filter(Q(pk=int(query)) | Q(subscriber__account_number=query))
    if query:
        return mailings.filter(
            Q(subject__icontains=query) | Q(subscriber__account_number=query)
        )
    if subscriber_id is not None:
        return mailings.filter(subscriber_id=subscriber_id)
    return mailings.none()


def mailing_complaints_newest(*, mailing: Mailing) -> QuerySet:
    """A mailing's complaints, newest first (the mailing's time index), as rows
    of only the columns its page shows (``pk``, ``reference``, ``received_at``,
    ``channel``, ``feedback_type``, ``state``): building a model instance for
    each of two hundred rows cost more than the query."""
    return mailing.complaints.order_by("-received_at").values_list(
        "pk",
        "reference",
        "received_at",
        "channel",
        "feedback_type",
        "state",
        named=True,
    )


def mailing_bounces(*, mailing: Mailing) -> QuerySet[Bounce]:
    return mailing.bounces.order_by("-is_hard", "address")


def mailing_cut_notices(*, mailing: Mailing) -> int:
    """Bounce notices of the mailing that listed more than the parser reads."""
    # Distinct ids only: DISTINCT over whole rows compared every message's raw
    # bytes, per notice, on the mailing page.
    return (
        InboundMessage.objects.filter(bounces__mailing=mailing, is_cut=True)
        .values("pk")
        .distinct()
        .count()
    )


MAILING_BOUNCE_REASONS_SHOWN = 12


@dataclass(frozen=True)
class BounceSummary:
    reasons: list[dict]
    total: int
    cut_notices: int


def mailing_bounce_summary(*, mailing: Mailing) -> BounceSummary:
    """The bounces grouped by reason, in words, most frequent first; their
    total (the groups add up to it, so the bounce table needs no COUNT of its
    own); and the cut notices among them, looked for only when there is a
    bounce (most mailings have none)."""
    rows = list(
        mailing.bounces.values("reason", "is_hard")
        .annotate(total=Count("pk"))
        .order_by("-total", "reason")
    )
    for row in rows[:MAILING_BOUNCE_REASONS_SHOWN]:
        row["words"] = reasons.DESCRIPTIONS.get(
            row["reason"], row["reason"] or "unclassified"
        )
    total = sum(row["total"] for row in rows)
    return BounceSummary(
        reasons=rows[:MAILING_BOUNCE_REASONS_SHOWN],
        total=total,
        cut_notices=mailing_cut_notices(mailing=mailing) if total else 0,
    )


MAILING_CHART_SLOTS = 48


def mailing_activity(
    *,
    mailing: Mailing,
    has_bounces: bool = True,
    complaint_times: list[datetime] | None = None,
    newest_complaint: tuple[int, datetime] | None = None,
) -> list[Slot]:
    """Complaints and bounces over the mailing's time: per hour when it lasted
    two days or less, else per day; at most MAILING_CHART_SLOTS slots from the
    first report. ``has_bounces=False`` (the caller counted none) skips their
    grouping; ``complaint_times``, when the caller read every complaint of the
    mailing, are put in their slots here instead of grouped again in SQL;
    ``newest_complaint`` (pk, received_at), when the caller read the newest
    rows, keys a big mailing's kept counts without reading it again."""
    hourly = mailing.last_seen - mailing.first_seen <= timedelta(days=2)
    step = timedelta(hours=1) if hourly else timedelta(days=1)
    trunc = TruncHour if hourly else TruncDay
    start = trunc_start(mailing.first_seen, hourly=hourly)
    counts = {}
    for name, rows in (
        (
            "complaints",
            _complaint_slots(mailing, trunc=trunc, newest=newest_complaint)
            if complaint_times is None
            else _times_in_slots(complaint_times, hourly=hourly),
        ),
        (
            "bounces",
            _slot_totals(mailing.bounces.all(), trunc=trunc) if has_bounces else [],
        ),
    ):
        for slot, total in rows:
            counts[(name, slot)] = total
    span = mailing.last_seen - start
    slots = min(MAILING_CHART_SLOTS, max(1, int(span / step) + 1))
    result = []
    for n in range(slots):
        at = start + n * step
        result.append(
            Slot(
                start=at,
                label=f"{at:%H}h" if hourly else f"{at.day} {at:%b}",
                complaints=counts.get(("complaints", at), 0),
                bounces=counts.get(("bounces", at), 0),
            )
        )
    return result


def _times_in_slots(
    times: list[datetime], *, hourly: bool
) -> list[tuple[datetime, int]]:
    """What ``_slot_totals`` counts, from the times themselves: each truncated
    in the current time zone as TruncHour and TruncDay truncate."""
    totals: dict[datetime, int] = {}
    for at in times:
        slot = trunc_start(at, hourly=hourly)
        totals[slot] = totals.get(slot, 0) + 1
    return list(totals.items())


def _slot_totals(queryset: QuerySet, *, trunc) -> list[tuple[datetime, int]]:
    return list(
        queryset.annotate(slot=trunc("received_at"))
        .values_list("slot")
        # COUNT(*): the (mailing, received_at) index alone can answer it.
        .annotate(total=Count("*"))
        .order_by()
    )


# A mailing counted with at least this many complaints has its chart's complaint
# counts kept in the cache: grouping the 40,000 complaints of an outbreak took
# tens of milliseconds of database time per view, while a small mailing's group
# costs less than the cache's round trip.
MAILING_CHART_KEPT_FROM = 1_000
# At most this long whatever happens: the key below moves with every complaint
# that arrives or is linked, unlinked or dismissed (the counter), and with every
# correction (each records an Action on the mailings it touches), but not when
# a change made past the services leaves them all as they were.
MAILING_CHART_KEPT_SECONDS = 120


def _complaint_slots(
    mailing: Mailing, *, trunc, newest: tuple[int, datetime] | None = None
) -> list[tuple[datetime, int]]:
    """The mailing's complaints per chart slot; for a big mailing kept under its
    newest complaint (by the page's own index), its newest action, its counter
    and its window, so that a new report or a correction counts again."""
    complaints = mailing.complaints.all()
    if mailing.complaint_count < MAILING_CHART_KEPT_FROM:
        return _slot_totals(complaints, trunc=trunc)
    if newest is None:
        # On PostgreSQL the planner walks the time index for this (it takes
        # the mailing's rows to be spread evenly over time), so the page hands
        # over the newest row it read already.
        found = complaints.order_by("-received_at").values_list("pk", "received_at")
        newest = found.first() or (None, None)
    newest_pk, newest_at = newest
    # A handful of rows on the action's mailing index.
    action = Action.objects.filter(mailing=mailing).aggregate(newest=Max("pk"))
    key = (
        f"mailing-chart:{mailing.pk}:{action['newest']}:{trunc.kind}:"
        f"{timezone.get_current_timezone_name()}:{newest_pk}:"
        f"{newest_at.isoformat() if newest_at else ''}:{mailing.complaint_count}:"
        f"{mailing.first_seen.isoformat()}:{mailing.last_seen.isoformat()}"
    )
    # One view groups them; the others at the same moment wait for it.
    return counting.kept_or_counted(
        key, lambda: _slot_totals(complaints, trunc=trunc), MAILING_CHART_KEPT_SECONDS
    )


def trunc_start(at: datetime, *, hourly: bool) -> datetime:
    at = timezone.localtime(at)
    at = at.replace(minute=0, second=0, microsecond=0)
    return at if hourly else at.replace(hour=0)


# The timeline entry that records each closing decision on a mailing.
DECISION_KINDS = {
    Mailing.State.COMPROMISED: [Action.Kind.RESTRICTION, Action.Kind.NOTE],
    Mailing.State.DISMISSED: [Action.Kind.MAILING_DISMISSED],
    Mailing.State.RELEASED: [Action.Kind.HOLD_RELEASED],
    Mailing.State.REJECTED: [Action.Kind.HOLD_REJECTED],
}


def mailing_decision(*, mailing: Mailing) -> Action | None:
    """The Action that records the decision the mailing's state stands on
    (who decided, when, why), or None for open and struck mailings."""
    kinds = DECISION_KINDS.get(mailing.state)
    if not kinds:
        return None
    return (
        Action.objects.filter(mailing=mailing, kind__in=kinds)
        .select_related("actor")
        .order_by("-created_at", "-pk")
        .first()
    )


def mailing_timeline(*, mailing: Mailing) -> QuerySet[Action]:
    """The mailing's actions, newest first, with what its timeline shows."""
    return (
        Action.objects.filter(mailing=mailing)
        .select_related("actor")
        .only("created_at", "kind", "reason", "actor__username")
        .order_by("-created_at")
    )


@dataclass(frozen=True)
class HeldRecipient:
    address: str
    is_valid: bool


def mailing_held_recipients(*, mailing: Mailing) -> list[HeldRecipient]:
    """The held batch's recipients, each flagged when its format is invalid."""
    recipients = []
    for address in mailing.held_recipients or []:
        try:
            validate_email(address)
            valid = True
        except ValidationError:
            valid = False
        recipients.append(HeldRecipient(str(address), valid))
    return recipients


def strike_list_live(
    *, subscriber_id: int, now: datetime | None = None
) -> QuerySet[Strike]:
    """Unrevoked strikes. The services pass these to ``strikes.verdict``, which
    applies the window itself; displays use ``strike_count_live``."""
    return Strike.objects.filter(subscriber_id=subscriber_id, revoked_at__isnull=True)


def live_strike_q(*, now: datetime, prefix: str = "") -> Q:
    """Live strikes as a query: unrevoked, and inside the window the policy
    module gives (ABUSE_STRIKE_WINDOW_DAYS, read now)."""
    q = Q(**{f"{prefix}revoked_at__isnull": True})
    since = strikes.live_since(now=now, window=strike_window())
    if since is not None:
        q &= Q(**{f"{prefix}issued_at__gt": since})
    return q


def strike_window() -> timedelta | None:
    return strikes.window_from_days(settings.ABUSE_STRIKE_WINDOW_DAYS)


def strike_count_live(*, subscriber_id: int, now: datetime) -> int:
    return Strike.objects.filter(
        live_strike_q(now=now), subscriber_id=subscriber_id
    ).count()


def inbound_failed_list() -> QuerySet[InboundMessage]:
    return inbound_list(state=InboundMessage.State.FAILED)


# What a row of the stored-message lists shows and sorts by.
INBOUND_LIST_COLUMNS = ("received_at", "channel", "kind", "error", "discard_reason")


def inbound_list(*, state: str) -> QuerySet[InboundMessage]:
    """Stored messages in one state, newest first (the state index), with only
    the columns a list row shows (not their bytes, nor the dozen others each
    row decoded)."""
    return (
        InboundMessage.objects.filter(state=state)
        .only(*INBOUND_LIST_COLUMNS)
        .order_by("-received_at", "-pk")
    )


def inbound_raw_text(*, inbound: InboundMessage, limit: int) -> tuple[str, bool]:
    """The message as text for an inert <pre>, and whether it was cut short."""
    raw = bytes(inbound.raw)
    return raw[:limit].decode("utf-8", errors="replace"), len(raw) > limit


def inbound_events(*, inbound: InboundMessage) -> list[tuple[datetime, str]]:
    """The message's own timeline, oldest first: received, last processed,
    discarded."""
    events = [(inbound.received_at, f"Received by {inbound.get_channel_display()}")]
    if inbound.processed_at:
        attempts = inbound.attempts
        events.append(
            (
                inbound.processed_at,
                f"Last processed ({attempts} attempt{'s' if attempts != 1 else ''})",
            )
        )
    if inbound.discarded_at:
        who = inbound.discarded_by.get_username() if inbound.discarded_by else "system"
        events.append(
            (inbound.discarded_at, f"Discarded by {who}: {inbound.discard_reason}")
        )
    return sorted(events, key=lambda event: event[0])


def mailing_list() -> QuerySet[Mailing]:
    """The mailings list, most recently seen first, with the subscriber and the
    strike joined (one row each, so no query per row)."""
    live = live_strike_q(now=timezone.now(), prefix="strike__") & Q(
        strike__isnull=False
    )
    return (
        Mailing.objects.select_related("subscriber", "strike")
        # Only what a row shows and sorts by (building the rest of the three
        # rows, the JSON above all, was most of the page's ORM cost).
        .only(
            "subject",
            "subscriber__account_number",
            "state",
            "complaint_count",
            "hard_bounce_count",
            "strike__revoked_at",
            "first_seen",
            "last_seen",
        )
        .annotate(has_live_strike=ExpressionWrapper(live, output_field=BooleanField()))
    )


def mailing_holds_overdue_q(*, now: datetime) -> Q:
    """Held batches waiting longer than ABUSE_HOLD_REVIEW_HOURS."""
    cutoff = now - timedelta(hours=settings.ABUSE_HOLD_REVIEW_HOURS)
    return Q(state=Mailing.State.HELD, first_seen__lt=cutoff)


def inbound_get(*, pk: int) -> InboundMessage:
    return InboundMessage.objects.get(pk=pk)


# Cards count at most this many: "more than 10,000 new complaints" says what a
# person needs, and counting a backlog of a million would cost the page.
DASHBOARD_COUNT_CAP = 10_000


class CappedCount(int):
    """A count that stopped at ``cap``; ``label`` says "more than" past it."""

    cap: int = DASHBOARD_COUNT_CAP

    @property
    def is_capped(self) -> bool:
        return self > self.cap

    @property
    def label(self) -> str:
        return f"more than {self.cap:,}" if self.is_capped else f"{int(self):,}"


def capped_count(queryset: QuerySet) -> CappedCount:
    """COUNT over a LIMIT of bare ids, kept a while once past the cap
    (``abusedesk.pagination.capped_count``)."""
    return CappedCount(pagination.capped_count(queryset, cap=DASHBOARD_COUNT_CAP))


def dashboard_counts(*, now: datetime) -> dict[str, CappedCount]:
    counts = pagination.capped_counts(
        {
            "overdue_holds": Mailing.objects.filter(mailing_holds_overdue_q(now=now)),
            "new_complaints": Complaint.objects.filter(state=Complaint.State.NEW),
            "unlinked": Complaint.objects.filter(
                state=Complaint.State.NEW, subscriber__isnull=True
            ),
            "failed_messages": InboundMessage.objects.filter(
                state=InboundMessage.State.FAILED
            ),
            "held_batches": Mailing.objects.filter(state=Mailing.State.HELD),
            "pending_messages": InboundMessage.objects.filter(
                state=InboundMessage.State.PENDING
            ),
        },
        cap=DASHBOARD_COUNT_CAP,
    )
    return {name: CappedCount(count) for name, count in counts.items()}


def subscribers_at_strikes(
    *, live: int, now: datetime, limit: int = 20
) -> QuerySet[Subscriber]:
    """Active subscribers with exactly ``live`` live strikes. Grouped from the
    strikes side: far fewer rows than subscribers."""
    holders = (
        Strike.objects.filter(live_strike_q(now=now))
        .values("subscriber_id")
        .annotate(live=Count("pk"))
        .filter(live=live)
        .values("subscriber_id")
    )
    return Subscriber.objects.filter(
        pk__in=holders, status=Subscriber.Status.ACTIVE
    ).order_by("account_number")[:limit]


# How long the dashboard keeps its list of accounts at a strike count, at most:
# any strike issued or revoked and any status change moves the key before then.
AT_STRIKES_KEPT_SECONDS = 300


def subscribers_at_strikes_kept(
    *, live: int, now: datetime, limit: int = 20
) -> list[Subscriber]:
    """``subscribers_at_strikes`` as a list, kept in the cache under the newest
    timeline entry's id: every strike issued or revoked and every status change
    records an Action (the services write one with each), so a new one moves
    the key and the list is counted again; an entry ages out with the strike
    window's minute (when ABUSE_STRIKE_WINDOW_DAYS is set) and after
    AT_STRIKES_KEPT_SECONDS whatever happens (a change made past the services,
    in the admin). Grouping every live strike costs tens of milliseconds of
    database time at scale, the newest id one index probe."""
    newest = Action.objects.order_by("-pk").values_list("pk", flat=True).first()
    since = strikes.live_since(now=now, window=strike_window())
    minute = since.replace(second=0, microsecond=0).isoformat() if since else ""
    key = f"at-strikes:{live}:{limit}:{newest}:{minute}"
    # One view groups the strikes; the others at the same moment wait for it.
    return counting.kept_or_counted(
        key,
        lambda: list(subscribers_at_strikes(live=live, now=now, limit=limit)),
        AT_STRIKES_KEPT_SECONDS,
    )


@dataclass(frozen=True)
class DayCount:
    day: date
    complaints: int
    bounces: int


def daily_counts(*, today: date, days: int = 30) -> list[DayCount]:
    """Complaints and bounces per day for the chart: the closed days from their
    kept rows (complaints/services/dashboard.py keeps them; a day without one
    reads 0 until it is counted), today counted live on the indexed time."""
    start = today - timedelta(days=days - 1)
    kept = {
        day: (complaints, bounces)
        for day, complaints, bounces in DailyReportCount.objects.filter(
            time_zone=timezone.get_current_timezone_name(),
            day__gte=start,
            day__lt=today,
        ).values_list("day", "complaints", "bounces")
    }
    since = day_start(today)
    live = DayCount(today, _count_since(Complaint, since), _count_since(Bounce, since))
    result = []
    for day in (start + timedelta(days=n) for n in range(days - 1)):
        complaints, bounces = kept.get(day, (0, 0))
        result.append(DayCount(day, complaints, bounces))
    return [*result, live]


# How long a count of today's rows is carried forward before it is counted
# whole again (the bound on a row its count missed, below).
TODAY_KEPT_SECONDS = 60
# Ids this close below the newest are counted again on every view: a transaction
# that took one of them may not have committed when the day was counted.
TODAY_RECOUNT_IDS = 1_000


def _count_since(model, since: datetime) -> int:
    """Rows of ``model`` received since ``since`` (today's bar), counted live:
    the rows up to an id a little below the newest are counted once and kept
    for TODAY_KEPT_SECONDS, and every view adds the rows past that id. A row is
    never changed or deleted once stored, nor its ``received_at``, so the kept
    part stays true; a row that arrives later carries a higher id (with a
    ``received_at`` of its own, today's or not, which the filter still reads).
    Counting the whole day was tens of milliseconds of database time per view
    at 1M complaints (every one of the day's rows a heap visit on a table not
    yet vacuumed), the rows past the id a short range of the primary key. Only a
    row whose id was taken more than TODAY_RECOUNT_IDS before the newest and
    committed after the count is missed, and only until the count is made anew.
    Redis down: counted whole."""
    rows = model.objects.filter(received_at__gte=since)
    key = f"count-since:{model._meta.label_lower}:{since.isoformat()}"
    through, counted = counting.kept_or_counted(
        key, lambda: _count_through(rows), TODAY_KEPT_SECONDS
    )
    return counted + rows.filter(pk__gt=through).count()


def _count_through(rows: QuerySet) -> tuple[int, int]:
    """An id TODAY_RECOUNT_IDS below the newest, and how many of ``rows`` are at
    or below it."""
    newest = rows.model.objects.order_by("-pk").values_list("pk", flat=True)
    through = max((newest.first() or 0) - TODAY_RECOUNT_IDS, 0)
    return through, rows.filter(pk__lte=through).count()


def mailings_top_this_week(*, now: datetime, limit: int = 10) -> QuerySet[Mailing]:
    return (
        Mailing.objects.filter(
            last_seen__gte=now - timedelta(days=7), complaint_count__gt=0
        )
        .select_related("subscriber")
        # Only what the dashboard shows of a row (decoding the JSON columns and
        # the subscriber's details was most of a row's cost).
        .only("subject", "complaint_count", "subscriber__account_number")
        .order_by("-complaint_count")[:limit]
    )


def actions_recent(*, limit: int = 15) -> QuerySet[Action]:
    """The newest actions, with only what the dashboard shows of them."""
    return (
        Action.objects.select_related("subscriber", "actor")
        .only(
            "created_at",
            "kind",
            "subscriber__account_number",
            "actor__username",
        )
        .order_by("-created_at")[:limit]
    )
