"""Reads for the staff corrections of mailings: the mailings staff may merge into
or move reports to, and the rows a confirmation page shows."""

from collections.abc import Iterable

from django.db.models import QuerySet

from complaints.models import Bounce, Complaint, Mailing
from complaints.selectors_subscribers import MAILING_ROW_COLUMNS
from complaints.services.corrections_plan import MERGED_INTO

CANDIDATES_LIMIT = 100


def mailing_merge_candidates(
    *, mailing: Mailing, limit: int = CANDIDATES_LIMIT
) -> QuerySet[Mailing]:
    """The subscriber's other mailings, newest first: those a correction may use
    (not held batches, not mailings already merged away)."""
    return (
        Mailing.objects.filter(subscriber_id=mailing.subscriber_id)
        .exclude(pk=mailing.pk)
        .exclude(state=Mailing.State.HELD)
        .exclude(signals__has_key=MERGED_INTO)
        .order_by("-last_seen", "-pk")
        # What the corrections box shows of each: up to a hundred rows of
        # JSON decoded for nothing otherwise.
        .only(*MAILING_ROW_COLUMNS)[:limit]
    )


def mailings_by_ids(*, ids: Iterable[int]) -> list[Mailing]:
    """The mailings with their subscriber and strike (a template reads a missing
    strike as empty)."""
    return list(
        Mailing.objects.filter(pk__in=set(ids))
        .select_related("subscriber", "strike")
        .order_by("pk")
    )


def reports_by_ids(
    *, complaint_ids: Iterable[int], bounce_ids: Iterable[int]
) -> tuple[list[Complaint], list[Bounce]]:
    complaints = Complaint.objects.filter(pk__in=set(complaint_ids)).only(
        "pk", "reference", "subject", "received_at", "mailing_id", "state"
    )
    bounces = Bounce.objects.filter(pk__in=set(bounce_ids)).only(
        "pk", "address", "status", "is_hard", "mailing_id"
    )
    return list(complaints.order_by("pk")), list(bounces.order_by("pk"))
