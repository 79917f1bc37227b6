"""The mailings list: filters, indexed sorts, capped counts, abuse staff only."""

import html
import re
from datetime import timedelta

import pytest
from django.utils import timezone

from complaints.models import Mailing
from tests.accounts.factories import SubscriberFactory
from tests.complaints.factories import MailingFactory, StrikeFactory

pytestmark = pytest.mark.django_db


def _listed(client, query: str = "") -> list[Mailing]:
    response = client.get(f"/mailings/?{query}")
    assert response.status_code == 200
    return list(response.context["page"])


def test_held_filter_lists_only_held_batches(abuse_client):
    held = MailingFactory(state=Mailing.State.HELD)
    MailingFactory(state=Mailing.State.OPEN)
    assert _listed(abuse_client, "state=held") == [held]


def test_overdue_filter_lists_holds_older_than_the_setting(abuse_client, settings):
    settings.ABUSE_HOLD_REVIEW_HOURS = 4
    old = MailingFactory(
        state=Mailing.State.HELD, first_seen=timezone.now() - timedelta(hours=5)
    )
    MailingFactory(state=Mailing.State.HELD)
    assert _listed(abuse_client, "state=held&overdue=true") == [old]


def test_subscriber_and_count_filters_combine(abuse_client):
    shop = SubscriberFactory(account_number="A5005")
    wanted = MailingFactory(subscriber=shop, complaint_count=4, hard_bounce_count=40)
    MailingFactory(subscriber=shop, complaint_count=1, hard_bounce_count=40)
    MailingFactory(complaint_count=9, hard_bounce_count=90)
    query = "subscriber=A5005&min_complaints=2&min_hard_bounces=30"
    assert _listed(abuse_client, query) == [wanted]


def test_strike_filters_tell_live_from_revoked(abuse_client):
    live = StrikeFactory().mailing
    revoked = StrikeFactory(
        revoked_at=timezone.now(), revoke_reason="appeal upheld"
    ).mailing
    MailingFactory()
    assert set(_listed(abuse_client, "has_strike=true")) == {live, revoked}
    assert _listed(abuse_client, "live_strike=true") == [live]


def test_date_filter_keeps_mailings_seen_in_the_range(abuse_client):
    now = timezone.now()
    recent = MailingFactory(first_seen=now - timedelta(days=1))
    MailingFactory(first_seen=now - timedelta(days=30))
    since = (now - timedelta(days=3)).date().isoformat()
    assert _listed(abuse_client, f"seen_after={since}") == [recent]


def test_sort_by_complaints_descending(abuse_client):
    few = MailingFactory(complaint_count=1)
    many = MailingFactory(complaint_count=7)
    assert _listed(abuse_client, "order=-complaints") == [many, few]


def test_counts_are_capped_like_the_queue(abuse_client):
    MailingFactory.create_batch(2)
    page = abuse_client.get("/mailings/").context["page"]
    assert page.paginator.count_label == "2"
    assert b"2 mailings" in abuse_client.get("/mailings/").content


def test_list_makes_no_query_per_row(abuse_client, django_assert_max_num_queries):
    for _ in range(5):
        StrikeFactory()
    with django_assert_max_num_queries(8):
        abuse_client.get("/mailings/")


def test_support_reps_may_not_open_the_list(support_client):
    assert support_client.get("/mailings/").status_code == 403


def test_every_dashboard_card_links_to_a_list_that_counts_the_same(abuse_client):
    MailingFactory(state=Mailing.State.HELD)
    MailingFactory(
        state=Mailing.State.HELD, first_seen=timezone.now() - timedelta(days=1)
    )
    page = abuse_client.get("/dashboard/").content.decode()
    cards = re.findall(
        r'<a class="card" href="([^"]+)"><span class="stat">(\d+)</span>', page
    )
    assert len(cards) == 6
    for href, figure in cards:
        listed = abuse_client.get(html.unescape(href))
        assert listed.status_code == 200, href
        assert listed.context["page"].paginator.count == int(figure), href
