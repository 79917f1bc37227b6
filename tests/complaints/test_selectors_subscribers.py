"""The strike history and the standings of the subscriber pages
(complaints/selectors_subscribers.py)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts import selectors as account_selectors
from accounts.models import Action
from complaints import selectors_subscribers as selectors
from tests.accounts.factories import ActionFactory, SubscriberFactory
from tests.complaints.factories import MailingFactory, StrikeFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def harbour(db):
    return SubscriberFactory(account_number="B0000042", name="Harbour Bakery")


def test_history_has_live_and_revoked_strikes_status_changes_and_notices(harbour):
    now = timezone.now()
    live = StrikeFactory(mailing=MailingFactory(subscriber=harbour, subject="Offer"))
    StrikeFactory(
        mailing=MailingFactory(subscriber=harbour, subject="Old"),
        revoked_at=now,
        revoke_reason="Not a bulk mailing",
    )
    ActionFactory(
        subscriber=harbour,
        kind=Action.Kind.SUSPENSION,
        reason="Strike 3 of 3",
        notice_template="suspension",
        notified_at=now,
    )
    ActionFactory(subscriber=harbour, kind=Action.Kind.NOTE, reason="Called us")
    history = selectors.subscriber_history(subscriber=harbour)
    assert history.live_strike_count == 1
    assert live in history.strikes
    assert [a.kind for a in history.status_changes] == [Action.Kind.SUSPENSION]
    assert [a.notice_label for a in history.notices] == ["Suspension notice"]
    events = [event.event for event in history.events]
    assert events.count("Strike") == 2
    assert "Strike revoked" in events
    assert "Notice: Suspension notice" in events
    assert "Note" not in events


def test_history_takes_a_fixed_number_of_queries(harbour, django_assert_num_queries):
    for _ in range(5):
        StrikeFactory(mailing=MailingFactory(subscriber=harbour))
    with django_assert_num_queries(3):
        history = selectors.subscriber_history(subscriber=harbour)
        [(s.mailing.subject, s.issued_by) for s in history.strikes]
        history.events  # noqa: B018


def test_history_from_a_short_timeline_matches_the_queried_one(harbour):
    StrikeFactory(mailing=MailingFactory(subscriber=harbour))
    ActionFactory(
        subscriber=harbour, kind=Action.Kind.SUSPENSION, notice_template="suspension"
    )
    ActionFactory(
        subscriber=harbour, kind=Action.Kind.WARNING, notice_template="warning"
    )
    recent = list(account_selectors.subscriber_timeline(subscriber=harbour))
    derived = selectors.subscriber_history(subscriber=harbour, recent=recent)
    queried = selectors.subscriber_history(subscriber=harbour)
    assert derived.status_changes == queried.status_changes
    assert derived.notices == queried.notices
    assert derived.events == queried.events


def test_history_counts_live_strikes_with_the_window_in_force(harbour, settings):
    settings.ABUSE_STRIKE_WINDOW_DAYS = 90
    old = StrikeFactory(
        mailing=MailingFactory(subscriber=harbour),
        issued_at=timezone.now() - timedelta(days=120),
    )
    StrikeFactory(mailing=MailingFactory(subscriber=harbour))
    history = selectors.subscriber_history(subscriber=harbour)
    assert history.live_strike_count == 1
    assert history.standing == "1 of 3"
    assert history.strike_state(old) == "expired"
    assert [e.detail for e in history.events if e.event == "Strike"] == [
        "expired",
        "live",
    ]


def test_history_slots_set_the_live_strikes_against_the_limit(harbour):
    StrikeFactory(mailing=MailingFactory(subscriber=harbour))
    StrikeFactory(mailing=MailingFactory(subscriber=harbour))
    slots = selectors.subscriber_history(subscriber=harbour).slots
    assert [(s.number, s.strike is not None, s.outcome) for s in slots] == [
        (1, True, "warning"),
        (2, True, "final warning"),
        (3, False, "suspension"),
    ]


def test_standings_count_live_strikes_only_with_the_window_in_force(settings):
    settings.ABUSE_STRIKE_WINDOW_DAYS = 90
    two, none, expired = (SubscriberFactory() for _ in range(3))
    for _ in range(2):
        StrikeFactory(mailing=MailingFactory(subscriber=two))
    StrikeFactory(
        mailing=MailingFactory(subscriber=two),
        revoked_at=timezone.now(),
        revoke_reason="Upheld on appeal",
    )
    StrikeFactory(
        mailing=MailingFactory(subscriber=expired),
        issued_at=timezone.now() - timedelta(days=91),
    )

    standings = selectors.subscriber_standings(subscribers=[two, none, expired])

    assert standings == {two.pk: "2 of 3", none.pk: "0 of 3", expired.pk: "0 of 3"}


def test_standings_follow_the_strike_limit(settings, harbour):
    settings.ABUSE_STRIKE_LIMIT = 5
    StrikeFactory(mailing=MailingFactory(subscriber=harbour))

    assert selectors.subscriber_standings(subscribers=[harbour]) == {
        harbour.pk: "1 of 5"
    }


def test_standings_take_one_query_for_any_number_of_subscribers(
    django_assert_num_queries,
):
    subscribers = [SubscriberFactory() for _ in range(5)]
    with django_assert_num_queries(1):
        selectors.subscriber_standings(subscribers=subscribers)
