"""The mailing page: thresholds side by side, the decision with who took it,
bounce reasons in words and a paginated bounce table, the activity chart."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from complaints import services
from complaints.models import Bounce, InboundMessage, Mailing
from tests.complaints.factories import (
    BounceFactory,
    ComplaintFactory,
    InboundMessageFactory,
    MailingFactory,
    StrikeFactory,
)

pytestmark = pytest.mark.django_db


def test_complaint_threshold_stands_beside_the_bogus_address_one(
    abuse_client, settings
):
    settings.ABUSE_COMPLAINTS_PER_STRIKE = 2
    mailing = MailingFactory(complaint_count=1)
    text = abuse_client.get(f"/mailings/{mailing.pk}/").content.decode()
    assert "1 complaint</strong>; a strike needs at least 2." in text
    assert "a strike needs at least 25" in text


def test_after_mark_compromised_the_card_says_what_was_done_and_by_whom(
    abuse_client, abuse_user
):
    mailing = MailingFactory()
    services.mailing_mark_compromised(
        mailing=mailing, actor=abuse_user, reason="Login from three countries"
    )
    page = abuse_client.get(f"/mailings/{mailing.pk}/")
    text = page.content.decode()
    assert page.context["decision"].actor == abuse_user
    assert "Compromised account</strong>: restriction (compromised) on" in text
    assert "by abby." in text
    assert "Login from three countries" in text
    assert page.context["offered"] == frozenset()


def test_the_page_offers_only_what_the_policy_allows(abuse_client):
    mailing = StrikeFactory().mailing
    page = abuse_client.get(f"/mailings/{mailing.pk}/")
    assert {str(d) for d in page.context["offered"]} == {"revoke"}
    assert b"Dismiss mailing" not in page.content


def test_bounce_reasons_are_grouped_in_words_with_counts(abuse_client):
    mailing = MailingFactory()
    BounceFactory.create_batch(3, mailing=mailing, reason="user_unknown")
    BounceFactory(mailing=mailing, reason="mailbox_full", is_hard=False)
    page = abuse_client.get(f"/mailings/{mailing.pk}/")
    rows = page.context["bounce_reasons"]
    assert [(r["words"], r["total"]) for r in rows] == [
        ("address does not exist", 3),
        ("mailbox full", 1),
    ]
    assert b"Address does not exist" in page.content


def test_a_five_thousand_bounce_mailing_is_paginated(
    abuse_client, django_assert_max_num_queries
):
    mailing = MailingFactory(hard_bounce_count=5000)
    inbound = InboundMessageFactory(state=InboundMessage.State.PROCESSED)
    now = timezone.now()
    Bounce.objects.bulk_create(
        Bounce(
            inbound=inbound,
            mailing=mailing,
            received_at=now,
            address=f"u{n}@example.com",
            status="5.1.1",
            reason="user_unknown",
            is_hard=True,
        )
        for n in range(5000)
    )
    with django_assert_max_num_queries(25):
        page = abuse_client.get(f"/mailings/{mailing.pk}/?bounces_page=3")
    assert len(page.context["bounces"]) == 100
    assert b"Bounces 201\xe2\x80\x93300 of 5000" in page.content


def test_activity_chart_counts_complaints_and_bounces_per_hour(abuse_client):
    start = timezone.now().replace(minute=5) - timedelta(hours=3)
    mailing = MailingFactory(first_seen=start, last_seen=start + timedelta(hours=2))
    ComplaintFactory(mailing=mailing, received_at=start)
    BounceFactory(mailing=mailing, received_at=start + timedelta(hours=2))
    bars = abuse_client.get(f"/mailings/{mailing.pk}/").context["chart"]["bars"]
    assert [(b["complaints"], b["bounces"]) for b in bars] == [(1, 0), (0, 0), (0, 1)]


def test_a_long_mailing_is_charted_per_day(abuse_client):
    start = timezone.now() - timedelta(days=10)
    mailing = MailingFactory(
        first_seen=start, last_seen=start + timedelta(days=5), state=Mailing.State.OPEN
    )
    ComplaintFactory(mailing=mailing, received_at=start + timedelta(days=5))
    bars = abuse_client.get(f"/mailings/{mailing.pk}/").context["chart"]["bars"]
    assert len(bars) == 6
    assert bars[-1]["complaints"] == 1


def test_a_mailing_without_bounces_asks_for_them_once(abuse_client):
    mailing = MailingFactory()
    with CaptureQueriesContext(connection) as queries:
        page = abuse_client.get(f"/mailings/{mailing.pk}/")
    assert page.context["bounces"].paginator.count == 0
    assert sum("complaints_bounce" in q["sql"] for q in queries) == 1


def test_the_strike_shows_who_issued_and_who_revoked_it(abuse_client, abuse_user):
    issuer = User.objects.create_user(username="ines")
    strike = StrikeFactory(
        issued_by=issuer,
        revoked_at=timezone.now(),
        revoked_by=abuse_user,
        revoke_reason="Appeal upheld",
    )
    text = abuse_client.get(f"/mailings/{strike.mailing_id}/").content.decode()
    assert "by ines (" in text
    assert "by abby: <span" in text
    assert "Appeal upheld" in text


def test_a_mailing_without_a_strike_says_no_strike_was_issued(abuse_client):
    page = abuse_client.get(f"/mailings/{MailingFactory().pk}/")
    assert page.context["strike"] is None
    assert b"Strike issued" not in page.content
