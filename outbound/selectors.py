"""Reads for outbound control: who a sender is, held batches, submissions."""

from datetime import datetime, timedelta

from django.db.models import Count, Q, QuerySet, Sum

from accounts.models import Action, MailAccount, Subscriber, is_ip_address
from accounts.selectors import subscriber_by_ip
from complaints.models import Mailing
from outbound.models import LoginAlert, Submission


def account_by_login(*, login: str) -> tuple[int | None, str | None]:
    """(subscriber id, status) of the subscriber a login belongs to."""
    row = (
        MailAccount.objects.filter(login=login.strip().lower())
        .values_list("subscriber_id", "subscriber__status")
        .first()
    )
    return (row[0], row[1]) if row else (None, None)


def account_by_address(*, address: str, at: datetime) -> tuple[int | None, str | None]:
    """(subscriber id, status) of the subscriber assigned a client address at
    ``at``; nobody when none or several are."""
    if not is_ip_address(address):
        return None, None
    rows = list(
        subscriber_by_ip(address=address, at=at).values_list("pk", "status")[:2]
    )
    return rows[0] if len(rows) == 1 else (None, None)


def held_batch_list() -> QuerySet[Mailing]:
    """Held batches the policy service made, oldest first (they wait longest),
    with their message and recipient totals."""
    return (
        Mailing.objects.filter(source=Mailing.Source.HOLD, state=Mailing.State.HELD)
        .select_related("subscriber")
        .annotate(
            messages=Count("submissions"),
            recipients_total=Sum("submissions__recipient_count"),
        )
        .order_by("first_seen", "pk")
    )


def held_batch_get(*, pk: int) -> Mailing:
    return (
        Mailing.objects.filter(source=Mailing.Source.HOLD)
        .select_related("subscriber")
        .get(pk=pk)
    )


def held_batch_submissions(*, mailing: Mailing) -> QuerySet[Submission]:
    return Submission.objects.filter(mailing=mailing).order_by("decided_at", "pk")


def is_overdue(*, mailing: Mailing, now: datetime, review_hours: int) -> bool:
    return mailing.state == Mailing.State.HELD and mailing.first_seen < now - timedelta(
        hours=review_hours
    )


def subscriber_history(*, subscriber: Subscriber, limit: int = 20) -> QuerySet[Action]:
    return subscriber.actions.select_related("actor").order_by("-created_at")[:limit]


def login_alert_list_open() -> QuerySet[LoginAlert]:
    return LoginAlert.objects.filter(closed_at__isnull=True).select_related(
        "subscriber"
    )


def submissions_for_keys(
    *, tokens: list[str], queue_ids: list[str]
) -> QuerySet[Submission]:
    return Submission.objects.filter(
        Q(trace_token__in=tokens) | Q(queue_id__in=queue_ids)
    ).exclude(queue_id="", trace_token="")
