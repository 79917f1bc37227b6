"""Reads about complaints, mailings, bounces and strikes. Querysets come back with
their related rows joined so that list pages make no query per row."""

from datetime import datetime

from django.db.models import Count, QuerySet

from complaints.models import Bounce, Complaint, InboundMessage, Mailing, Strike


def complaint_list() -> QuerySet[Complaint]:
    return Complaint.objects.select_related("subscriber", "mailing")


def complaint_get(*, pk: int) -> Complaint:
    return Complaint.objects.select_related("subscriber", "mailing", "inbound").get(
        pk=pk
    )


def mailing_get(*, pk: int) -> Mailing:
    return Mailing.objects.select_related("subscriber").get(pk=pk)


def mailing_bounces(*, mailing: Mailing) -> QuerySet[Bounce]:
    return mailing.bounces.order_by("-is_hard", "address")


def mailing_bounce_reasons(*, mailing: Mailing) -> QuerySet:
    return (
        mailing.bounces.values("reason", "is_hard")
        .annotate(total=Count("pk"))
        .order_by("-total")[:10]
    )


def strike_list_live(
    *, subscriber_id: int, now: datetime | None = None
) -> QuerySet[Strike]:
    return Strike.objects.filter(subscriber_id=subscriber_id, revoked_at__isnull=True)


def inbound_failed_list() -> QuerySet[InboundMessage]:
    return InboundMessage.objects.filter(state=InboundMessage.State.FAILED).defer("raw")


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
    }
