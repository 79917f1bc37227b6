"""The queue's and the mailings list's day filters: a range on the indexed
timestamp that keeps exactly the rows ``__date`` kept, in the desk's time zone."""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.http import QueryDict
from django.utils import timezone

from complaints import selectors
from complaints.filters import ComplaintFilter, MailingFilter
from complaints.models import Complaint, Mailing
from tests.complaints.factories import ComplaintFactory, MailingFactory

pytestmark = pytest.mark.django_db

ZONE = "Europe/Berlin"
DAY = date(2026, 3, 29)  # the day the clocks go forward in Berlin


@pytest.fixture
def berlin(settings):
    settings.TIME_ZONE = ZONE
    with timezone.override(ZONE):
        yield ZoneInfo(ZONE)


def _around_day(zone) -> list[datetime]:
    """Instants on both sides of every midnight near DAY, in Berlin."""
    start = datetime(2026, 3, 27, 22, 0, tzinfo=zone)
    return [start + timedelta(minutes=29 * n) for n in range(4 * 24 * 2)]


@pytest.mark.parametrize(
    "query",
    [
        "received_after=2026-03-29",
        "received_before=2026-03-29",
        "received_after=2026-03-28&received_before=2026-03-29",
        "received_after=2026-03-29&received_before=2026-03-29",
    ],
)
def test_received_range_keeps_what_the_date_lookup_kept(berlin, query):
    for at in _around_day(berlin):
        ComplaintFactory(received_at=at)
    params = QueryDict(query)
    expected = Complaint.objects.all()
    if "received_after" in params:
        expected = expected.filter(received_at__date__gte=params["received_after"])
    if "received_before" in params:
        expected = expected.filter(received_at__date__lte=params["received_before"])

    got = ComplaintFilter(params, queryset=selectors.complaint_list()).qs

    assert set(got.values_list("pk", flat=True)) == set(
        expected.values_list("pk", flat=True)
    )
    assert expected.exists()


def test_mailing_seen_range_keeps_what_the_date_lookup_kept(berlin):
    for at in _around_day(berlin):
        MailingFactory(first_seen=at, last_seen=at + timedelta(hours=5))
    params = QueryDict("seen_after=2026-03-29&seen_before=2026-03-29")
    expected = Mailing.objects.filter(
        last_seen__date__gte=DAY, first_seen__date__lte=DAY
    )

    got = MailingFilter(params, queryset=selectors.mailing_list()).qs

    assert set(got.values_list("pk", flat=True)) == set(
        expected.values_list("pk", flat=True)
    )


def test_day_filter_is_a_range_on_the_column_itself():
    """No per-row date computation in the SQL, so the index on received_at
    serves it."""
    params = QueryDict("received_after=2026-03-28&received_before=2026-03-29")
    sql = str(ComplaintFilter(params, queryset=selectors.complaint_list()).qs.query)

    where = sql.split("WHERE", 1)[1]
    assert '"complaints_complaint"."received_at" >=' in where
    assert '"complaints_complaint"."received_at" <' in where
    assert "AT TIME ZONE" not in where and "::date" not in where
