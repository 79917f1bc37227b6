"""Reads about complaints, mailings, bounces and strikes."""

from datetime import UTC, datetime, timedelta

import pytest
from django.core.cache import cache
from django.db import connection
from django.db.models import F
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from complaints import selectors
from complaints.models import Complaint, Mailing
from complaints.selectors import complaint_neighbours, complaint_sort_keys
from complaints.services.strikes import strike_issue, strike_revoke
from complaints.services.triage import complaint_unlink
from tests.accounts.factories import ActionFactory, SubscriberFactory
from tests.complaints.factories import (
    BounceFactory,
    ComplaintFactory,
    MailingFactory,
    StrikeFactory,
)

pytestmark = pytest.mark.django_db


def _strikes(subscriber, *ages_in_days):
    now = timezone.now()
    for age in ages_in_days:
        StrikeFactory(
            mailing=MailingFactory(subscriber=subscriber),
            issued_at=now - timedelta(days=age),
        )


def test_live_count_honours_the_strike_window(settings):
    subscriber = SubscriberFactory()
    _strikes(subscriber, 1, 100)
    now = timezone.now()
    assert selectors.strike_count_live(subscriber_id=subscriber.pk, now=now) == 2
    settings.ABUSE_STRIKE_WINDOW_DAYS = 30
    assert selectors.strike_count_live(subscriber_id=subscriber.pk, now=now) == 1


def test_revoked_strikes_are_never_live():
    strike = StrikeFactory(revoked_at=timezone.now(), revoke_reason="appeal")
    count = selectors.strike_count_live(
        subscriber_id=strike.subscriber_id, now=timezone.now()
    )
    assert count == 0


def test_one_strike_from_suspension_follows_the_window(settings):
    settings.ABUSE_STRIKE_WINDOW_DAYS = 30
    near, expired = SubscriberFactory(), SubscriberFactory()
    _strikes(near, 1, 2)
    _strikes(expired, 1, 60)
    found = selectors.subscribers_at_strikes(live=2, now=timezone.now())
    assert list(found) == [near]


def test_kept_list_of_accounts_at_two_strikes_follows_strikes_issued_and_revoked(
    abuse_user,
):
    subscriber = SubscriberFactory()
    _strikes(subscriber, 1)
    now = timezone.now()
    assert selectors.subscribers_at_strikes_kept(live=2, now=now) == []
    mailing = MailingFactory(subscriber=subscriber, complaint_count=1)
    ComplaintFactory(
        subscriber=subscriber, mailing=mailing, state=Complaint.State.LINKED
    )
    strike = strike_issue(mailing=mailing, actor=abuse_user)
    assert selectors.subscribers_at_strikes_kept(live=2, now=now) == [subscriber]
    strike_revoke(strike=strike, actor=abuse_user, reason="Opt-in list shown.")
    assert selectors.subscribers_at_strikes_kept(live=2, now=now) == []


def test_kept_list_of_accounts_at_two_strikes_is_kept_until_the_timeline_moves():
    subscriber = SubscriberFactory()
    now = timezone.now()
    assert selectors.subscribers_at_strikes_kept(live=2, now=now) == []
    # Written past the services (no timeline entry): the kept list stands...
    _strikes(subscriber, 1, 2)
    assert selectors.subscribers_at_strikes_kept(live=2, now=now) == []
    # ...until anything is recorded on a timeline.
    ActionFactory(subscriber=SubscriberFactory())
    assert selectors.subscribers_at_strikes_kept(live=2, now=now) == [subscriber]


def test_mailing_list_marks_an_old_strike_as_no_longer_live(settings):
    settings.ABUSE_STRIKE_WINDOW_DAYS = 30
    StrikeFactory(issued_at=timezone.now() - timedelta(days=40))
    assert [m.has_live_strike for m in selectors.mailing_list()] == [False]


@pytest.mark.parametrize("order", ["", "subject", "-subscriber", "state"])
def test_neighbours_are_the_rows_around_a_complaint_in_the_queue_order(order):
    owner = SubscriberFactory()
    made = [
        ComplaintFactory(
            subject=["Offer", "Invoice"][n % 2],
            subscriber=owner if n % 3 else None,
            state=Complaint.State.NEW,
        )
        for n in range(9)
    ]
    keys, _nullable = complaint_sort_keys(order)
    queue = selectors.complaint_list().filter(state=Complaint.State.NEW)
    ordered = [c.pk for c in queue.order_by(*keys)]
    for at, pk in enumerate(ordered):
        before, after = complaint_neighbours(queryset=queue, pk=pk, order=order)
        assert before == (ordered[at - 1] if at else None)
        assert after == (ordered[at + 1] if at + 1 < len(ordered) else None)
    assert len(ordered) == len(made)


def test_todays_count_adds_what_arrives_after_the_kept_count(monkeypatch):
    # Every id settled: the first view keeps the whole day's count.
    monkeypatch.setattr(selectors, "TODAY_RECOUNT_IDS", 0)
    now = timezone.now()
    today = timezone.localdate(now)
    ComplaintFactory.create_batch(2, received_at=now)
    ComplaintFactory(received_at=now - timedelta(days=2))

    assert selectors.daily_counts(today=today, days=3)[-1].complaints == 2

    ComplaintFactory(received_at=now)
    # Stored now, received two days ago (a message processed late): not today's.
    ComplaintFactory(received_at=now - timedelta(days=2))
    assert selectors.daily_counts(today=today, days=3)[-1].complaints == 3


def test_todays_count_is_whole_again_once_its_kept_part_ages_out(monkeypatch):
    monkeypatch.setattr(selectors, "TODAY_RECOUNT_IDS", 0)
    now = timezone.now()
    today = timezone.localdate(now)
    late = ComplaintFactory(received_at=now)
    assert selectors.daily_counts(today=today, days=1)[-1].complaints == 1
    # A row below the kept id that the kept count could not see (as one
    # committed late would be): missed only while the kept part lasts.
    Complaint.objects.filter(pk=late.pk).update(received_at=now - timedelta(days=1))
    assert selectors.daily_counts(today=today, days=1)[-1].complaints == 1
    cache.delete_many(
        [
            f"count-since:{model}:{selectors.day_start(today).isoformat()}"
            for model in ("complaints.complaint", "complaints.bounce")
        ]
    )
    assert selectors.daily_counts(today=today, days=1)[-1].complaints == 0


def _linked(mailing, at, n=1):
    """``n`` linked complaints on ``mailing`` at ``at``, counted as ingest counts."""
    for _ in range(n):
        ComplaintFactory(
            mailing=mailing,
            subscriber=mailing.subscriber,
            state=Complaint.State.LINKED,
            received_at=at,
        )
    Mailing.objects.filter(pk=mailing.pk).update(
        complaint_count=F("complaint_count") + n
    )
    mailing.refresh_from_db()


def _chart_complaints(mailing) -> list[int]:
    return [slot.complaints for slot in selectors.mailing_activity(mailing=mailing)]


def _big_mailing(monkeypatch):
    monkeypatch.setattr(selectors, "MAILING_CHART_KEPT_FROM", 3)
    start = timezone.now().replace(minute=5) - timedelta(hours=2)
    mailing = MailingFactory(first_seen=start, last_seen=start + timedelta(hours=1))
    _linked(mailing, start, n=3)
    return mailing, start


def test_a_big_mailing_chart_is_grouped_once_then_kept(monkeypatch):
    mailing, _start = _big_mailing(monkeypatch)
    assert _chart_complaints(mailing) == [3, 0]
    with CaptureQueriesContext(connection) as queries:
        assert _chart_complaints(mailing) == [3, 0]
    grouped = [q["sql"] for q in queries if "COUNT(*)" in q["sql"]]
    assert all("complaints_complaint" not in sql for sql in grouped)


def test_a_new_complaint_of_a_big_mailing_is_charted_at_once(monkeypatch):
    mailing, start = _big_mailing(monkeypatch)
    assert _chart_complaints(mailing) == [3, 0]
    _linked(mailing, start + timedelta(hours=1))
    assert _chart_complaints(mailing) == [3, 1]


def test_an_unlinked_complaint_leaves_a_big_mailing_chart_at_once(monkeypatch):
    mailing, start = _big_mailing(monkeypatch)
    _linked(mailing, start + timedelta(hours=1))
    assert _chart_complaints(mailing) == [3, 1]
    # An older one than the newest: only the mailing's counter says it went.
    complaint_unlink(complaint=mailing.complaints.order_by("received_at").first())
    mailing.refresh_from_db()
    assert _chart_complaints(mailing) == [2, 1]


def test_a_small_mailing_chart_is_counted_every_time():
    start = timezone.now().replace(minute=5) - timedelta(hours=2)
    mailing = MailingFactory(first_seen=start, last_seen=start + timedelta(hours=1))
    _linked(mailing, start)
    with CaptureQueriesContext(connection) as queries:
        assert _chart_complaints(mailing) == [1, 0]
    assert any("complaints_complaint" in q["sql"] for q in queries)


def test_the_bounce_total_counts_the_reasons_not_shown():
    mailing = MailingFactory()
    shown = selectors.MAILING_BOUNCE_REASONS_SHOWN
    for n in range(shown + 1):
        BounceFactory.create_batch(2 if n == 0 else 1, mailing=mailing, reason=f"r{n}")
    summary = selectors.mailing_bounce_summary(mailing=mailing)
    assert len(summary.reasons) == shown
    assert summary.reasons[0]["total"] == 2
    assert summary.total == shown + 2
    assert summary.cut_notices == 0


@pytest.mark.parametrize("zone", ["UTC", "Europe/Berlin", "America/St_Johns"])
@pytest.mark.parametrize("days", [1, 9])
def test_complaint_times_fill_the_slots_sql_would(zone, days):
    """Hourly and daily, across a change of summer time (29 March 2026 in
    Berlin, 8 March in St John's)."""
    with timezone.override(zone):
        start = datetime(2026, 3, 28, 22, 40, tzinfo=UTC) - timedelta(days=days - 1)
        mailing = MailingFactory(
            first_seen=start, last_seen=start + timedelta(days=days)
        )
        for n in range(30):
            at = start + timedelta(minutes=47 * n * days)
            ComplaintFactory(mailing=mailing, received_at=at)
        times = list(mailing.complaints.values_list("received_at", flat=True))
        assert selectors.mailing_activity(
            mailing=mailing, complaint_times=times
        ) == selectors.mailing_activity(mailing=mailing)


def test_a_correction_of_a_big_mailing_is_charted_at_once(monkeypatch):
    mailing, start = _big_mailing(monkeypatch)
    assert _chart_complaints(mailing) == [3, 0]
    # What a move of a dismissed report leaves: no counter changed, but the
    # correction's timeline entry on the mailing.
    moved = mailing.complaints.order_by("pk").first()
    Complaint.objects.filter(pk=moved.pk).update(mailing=MailingFactory())
    ActionFactory(subscriber=mailing.subscriber, mailing=mailing)
    assert _chart_complaints(mailing) == [2, 0]
