"""Reads about subscribers: lookup, detail and timeline."""

import ipaddress
from datetime import datetime

from django.db.models import Count, Q, QuerySet

from accounts.models import Action, IPAssignment, MailAccount, Subscriber, ip_to_key


def subscriber_get(*, pk: int) -> Subscriber:
    return Subscriber.objects.get(pk=pk)


def subscriber_search(
    *, query: str, at: datetime | None = None
) -> QuerySet[Subscriber]:
    """Subscribers matching an account number, login, address, IP address or name.

    Exact identifiers win: if the query is an IP address, only its holder (at ``at``,
    if given) is returned; otherwise account number, login and address matches come
    with name matches.
    """
    query = query.strip()
    if not query:
        return Subscriber.objects.none()
    if _is_ip(query):
        return subscriber_by_ip(address=query, at=at)
    lowered = query.lower()
    ids = set(
        MailAccount.objects.filter(Q(login=lowered) | Q(address=lowered)).values_list(
            "subscriber_id", flat=True
        )
    )
    exact = Q(account_number=query) | Q(contact_email__iexact=query) | Q(pk__in=ids)
    return Subscriber.objects.filter(exact | Q(name__icontains=query)).order_by("name")


def subscriber_by_ip(
    *, address: str, at: datetime | None = None
) -> QuerySet[Subscriber]:
    key = ip_to_key(address)
    assignments = IPAssignment.objects.filter(range_start__lte=key, range_end__gte=key)
    if at is not None:
        assignments = assignments.filter(valid_from__lte=at).filter(
            Q(valid_to__isnull=True) | Q(valid_to__gt=at)
        )
    return Subscriber.objects.filter(pk__in=assignments.values("subscriber_id"))


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def subscriber_timeline(*, subscriber: Subscriber) -> QuerySet[Action]:
    return subscriber.actions.select_related("actor", "mailing", "strike")


def subscriber_list_with_counts() -> QuerySet[Subscriber]:
    return Subscriber.objects.annotate(mailing_total=Count("mailings"))
