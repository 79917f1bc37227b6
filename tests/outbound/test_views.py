"""The held-batch pages through the client."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from complaints.models import Mailing
from outbound.services.drain import submissions_record
from tests.accounts.factories import MailAccountFactory

pytestmark = pytest.mark.django_db


def held(hours_ago: float = 0) -> Mailing:
    sub = MailAccountFactory(login="bob").subscriber
    at = (timezone.now() - timedelta(hours=hours_ago)).timestamp()
    submissions_record(
        records=[
            {
                "h": "relay.test",
                "q": "4AAAAAAAAA",
                "t": at,
                "l": "bob",
                "s": sub.pk,
                "n": 40,
                "a": "hold",
                "r": "burst",
                "x": "held for review: 201 messages",
            },
        ]
    )
    return Mailing.objects.get(source=Mailing.Source.HOLD)


def test_list_shows_batches_and_marks_overdue_ones(abuse_client, settings):
    settings.ABUSE_HOLD_REVIEW_HOURS = 4
    batch = held(hours_ago=5)
    page = abuse_client.get(reverse("outbound:held_list"))
    assert page.status_code == 200
    assert f"#{batch.pk}" in page.content.decode()
    assert "overdue" in page.content.decode()


def test_dashboard_cards_count_held_and_overdue_batches(abuse_client, settings):
    settings.ABUSE_HOLD_REVIEW_HOURS = 4
    held(hours_ago=5)
    page = abuse_client.get(reverse("complaints:dashboard"))
    counts = page.context["counts"]
    assert (counts["held_batches"], counts["overdue_holds"]) == (1, 1)


def test_batch_page_shows_login_history_count_and_why(abuse_client):
    batch = held()
    page = abuse_client.get(reverse("outbound:held_detail", args=[batch.pk]))
    text = page.content.decode()
    assert "bob" in text and "held for review: 201 messages" in text
    assert page.context["recipients_total"] == 40
    assert len(page.context["submissions"]) == 1
    assert "Mail held for review" in text  # the subscriber's history


def test_release_needs_the_confirmation(abuse_client):
    batch = held()
    abuse_client.post(reverse("outbound:held_decide", args=[batch.pk, "release"]))
    batch.refresh_from_db()
    assert batch.state == Mailing.State.HELD
    abuse_client.post(
        reverse("outbound:held_decide", args=[batch.pk, "release"]), {"confirm": "on"}
    )
    batch.refresh_from_db()
    assert batch.state == Mailing.State.RELEASED


def test_support_reps_cannot_see_held_batches(support_client):
    batch = held()
    assert support_client.get(reverse("outbound:held_list")).status_code == 403
    assert (
        support_client.post(
            reverse("outbound:held_decide", args=[batch.pk, "release"])
        ).status_code
        == 403
    )
