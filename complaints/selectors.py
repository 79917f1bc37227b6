"""Reads about complaints, mailings, bounces and strikes. Querysets come back with
their related rows joined so that list pages make no query per row."""

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db.models import Count, Q, QuerySet
from django.db.models.functions import Substr, TruncDate
from django.utils import timezone

from accounts.models import Action, Subscriber
from complaints.models import Bounce, Complaint, InboundMessage, Mailing, Strike

DASHBOARD_CACHE_SECONDS = 60


def complaint_list() -> QuerySet[Complaint]:
    """The queue, newest first. ``subject_key`` is the indexed prefix the queue
    sorts subjects by."""
    return (
        Complaint.objects.select_related("subscriber", "mailing")
        .defer("complainant_text")
        .annotate(subject_key=Substr("subject", 1, 100))
    )


def complaint_get(*, pk: int) -> Complaint:
    return Complaint.objects.select_related("subscriber", "mailing", "inbound").get(
        pk=pk
    )


def complaints_by_ids(*, ids: list[int]) -> QuerySet[Complaint]:
    return Complaint.objects.filter(pk__in=ids).order_by("pk")


def mailing_get(*, pk: int) -> Mailing:
    return Mailing.objects.select_related("subscriber").get(pk=pk)


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


def mailing_bounces(*, mailing: Mailing) -> QuerySet[Bounce]:
    return mailing.bounces.order_by("-is_hard", "address")


def mailing_bounce_reasons(*, mailing: Mailing) -> list[dict]:
    return list(
        mailing.bounces.values("reason", "is_hard")
        .annotate(total=Count("pk"))
        .order_by("-total")[:10]
    )


def mailing_timeline(*, mailing: Mailing) -> QuerySet[Action]:
    return (
        Action.objects.filter(mailing=mailing)
        .select_related("actor")
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
    return Strike.objects.filter(subscriber_id=subscriber_id, revoked_at__isnull=True)


def inbound_failed_list() -> QuerySet[InboundMessage]:
    return InboundMessage.objects.filter(state=InboundMessage.State.FAILED).defer("raw")


def inbound_get(*, pk: int) -> InboundMessage:
    return InboundMessage.objects.get(pk=pk)


def dashboard_counts() -> dict[str, int]:
    return {
        "new_complaints": Complaint.objects.filter(state=Complaint.State.NEW).count(),
        "unlinked": Complaint.objects.filter(
            state=Complaint.State.NEW, subscriber__isnull=True
        ).count(),
        "failed_messages": InboundMessage.objects.filter(
            state=InboundMessage.State.FAILED
        ).count(),
        "held_batches": Mailing.objects.filter(state=Mailing.State.HELD).count(),
        "held_overdue": Mailing.objects.filter(
            state=Mailing.State.HELD,
            first_seen__lt=timezone.now()
            - timedelta(hours=settings.ABUSE_HOLD_REVIEW_HOURS),
        ).count(),
        "pending_messages": InboundMessage.objects.filter(
            state=InboundMessage.State.PENDING
        ).count(),
    }


def subscribers_at_strikes(*, live: int, limit: int = 20) -> QuerySet[Subscriber]:
    """Active subscribers with exactly ``live`` live strikes. Grouped from the
    strikes side: far fewer rows than subscribers."""
    holders = (
        Strike.objects.filter(revoked_at__isnull=True)
        .values("subscriber_id")
        .annotate(live=Count("pk"))
        .filter(live=live)
        .values("subscriber_id")
    )
    return Subscriber.objects.filter(
        pk__in=holders, status=Subscriber.Status.ACTIVE
    ).order_by("account_number")[:limit]


@dataclass(frozen=True)
class DayCount:
    day: date
    complaints: int
    bounces: int


def daily_counts(*, today: date, days: int = 30) -> list[DayCount]:
    """Complaints and bounces per day for the chart; cached for a minute because
    it scans a month of rows."""
    key = f"dashboard:daily:{today.isoformat()}:{days}"
    return cache.get_or_set(
        key, lambda: _daily_counts(today, days), DASHBOARD_CACHE_SECONDS
    )


def _daily_counts(today: date, days: int) -> list[DayCount]:
    start = today - timedelta(days=days - 1)
    complaints = _per_day(Complaint.objects.filter(received_at__date__gte=start))
    bounces = _per_day(Bounce.objects.filter(received_at__date__gte=start))
    return [
        DayCount(day, complaints.get(day, 0), bounces.get(day, 0))
        for day in (start + timedelta(days=n) for n in range(days))
    ]


def _per_day(queryset) -> dict[date, int]:
    rows = (
        queryset.annotate(day=TruncDate("received_at"))
        .values("day")
        .annotate(total=Count("pk"))
        .order_by()
    )
    return {row["day"]: row["total"] for row in rows}


def mailings_top_this_week(*, now: datetime, limit: int = 10) -> QuerySet[Mailing]:
    return (
        Mailing.objects.filter(
            last_seen__gte=now - timedelta(days=7), complaint_count__gt=0
        )
        .select_related("subscriber")
        .order_by("-complaint_count")[:limit]
    )


def actions_recent(*, limit: int = 15) -> QuerySet[Action]:
    return Action.objects.select_related("subscriber", "actor").order_by("-created_at")[
        :limit
    ]
