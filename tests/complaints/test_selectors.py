"""Reads about complaints, mailings, bounces and strikes."""

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone

from complaints import selectors
from complaints.models import Complaint
from complaints.selectors import complaint_neighbours, complaint_sort_keys
from complaints.services.strikes import strike_issue, strike_revoke
from tests.accounts.factories import ActionFactory, SubscriberFactory
from tests.complaints.factories import ComplaintFactory, MailingFactory, StrikeFactory

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
