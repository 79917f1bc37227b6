"""The dashboard's kept per-day counts: closed days counted once and again when
due, today always live, one row per day and time zone however often it runs."""

from datetime import datetime, time, timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone

from complaints import selectors
from complaints.models import DailyReportCount
from complaints.services.dashboard import report_days_refresh, report_recount_turn
from tests.complaints.factories import BounceFactory, ComplaintFactory

pytestmark = pytest.mark.django_db

DAYS = 7


@pytest.fixture
def now(settings):
    settings.ABUSE_DASHBOARD_RECOUNT_MINUTES = 10
    # Noon today: every "days ago" below lands well inside its day.
    return timezone.make_aware(datetime.combine(timezone.localdate(), time(12)))


def _counts(now) -> dict:
    today = timezone.localdate(now)
    report_days_refresh(today=today, days=DAYS, now=now)
    return {
        row.day: (row.complaints, row.bounces)
        for row in selectors.daily_counts(today=today, days=DAYS)
    }


def test_closed_days_are_counted_once_and_kept(now):
    for days_ago, complaints in ((1, 3), (2, 1), (6, 2), (9, 5)):
        ComplaintFactory.create_batch(
            complaints, received_at=now - timedelta(days=days_ago)
        )
    BounceFactory(received_at=now - timedelta(days=2))
    today = timezone.localdate(now)

    counts = _counts(now)

    assert counts[today - timedelta(days=1)] == (3, 0)
    assert counts[today - timedelta(days=2)] == (1, 1)
    assert counts[today - timedelta(days=6)] == (2, 0)
    assert sum(c for c, _b in counts.values()) == 6  # nine days ago is not shown
    assert DailyReportCount.objects.count() == DAYS - 1
    assert report_days_refresh(today=today, days=DAYS, now=now) == 0


def test_todays_complaints_show_as_they_arrive(now):
    today = timezone.localdate(now)
    assert _counts(now)[today] == (0, 0)

    ComplaintFactory(received_at=now - timedelta(minutes=5))
    BounceFactory(received_at=now - timedelta(minutes=1))

    assert _counts(now)[today] == (1, 1)


def test_a_late_message_of_a_closed_day_shows_once_the_day_is_recounted(now):
    yesterday = timezone.localdate(now) - timedelta(days=1)
    ComplaintFactory(received_at=now - timedelta(days=1))
    assert _counts(now)[yesterday] == (1, 0)

    # Processed late: its time is when it arrived, yesterday.
    ComplaintFactory(received_at=now - timedelta(days=1, hours=1))

    assert _counts(now + timedelta(minutes=5))[yesterday] == (1, 0)
    later = now + timedelta(minutes=11)
    for _ in range(DAYS):  # one stale day recounted per view, the stalest first
        counts = _counts(later)
    assert counts[yesterday] == (2, 0)


def test_days_are_kept_per_time_zone(now, settings):
    ComplaintFactory(received_at=now - timedelta(days=3))
    _counts(now)
    settings.TIME_ZONE = "America/New_York"
    with timezone.override("America/New_York"):
        _counts(now)

    rows = DailyReportCount.objects.filter(time_zone="America/New_York")
    assert rows.count() == DAYS - 1
    assert DailyReportCount.objects.exclude(time_zone="America/New_York").count() == (
        DAYS - 1
    )


def test_a_view_skips_the_counting_while_another_counts(now):
    ComplaintFactory(received_at=now - timedelta(days=2))
    today = timezone.localdate(now)
    lock = "dashboard-counting:" + timezone.get_current_timezone_name()
    cache.add(lock, 1, 60)

    assert report_days_refresh(today=today, days=DAYS, now=now) == 0
    assert not DailyReportCount.objects.exists()

    cache.delete(lock)
    assert report_days_refresh(today=today, days=DAYS, now=now) == DAYS - 1
    assert _counts(now)[today - timedelta(days=2)] == (1, 0)


def test_one_view_in_a_turn_recounts_a_stale_day(now):
    ComplaintFactory(received_at=now - timedelta(days=1))
    today = timezone.localdate(now)
    assert report_days_refresh(today=today, days=DAYS, now=now) == DAYS - 1
    later = now + timedelta(minutes=11)

    turns = [report_recount_turn(days=DAYS) for _ in range(3)]
    assert turns == [True, False, False]
    assert (
        report_days_refresh(today=today, days=DAYS, now=later, recount_stale=False) == 0
    )
    assert report_days_refresh(today=today, days=DAYS, now=later) == 1


def test_a_view_out_of_its_turn_still_counts_the_days_never_counted(now):
    ComplaintFactory(received_at=now - timedelta(days=3))
    today = timezone.localdate(now)
    counted = report_days_refresh(today=today, days=DAYS, now=now, recount_stale=False)
    assert counted == DAYS - 1
    assert _counts(now)[today - timedelta(days=3)] == (1, 0)
