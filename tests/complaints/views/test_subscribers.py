"""The subscriber lookup (with each standing), the subscriber page and the history
exports (complaints/views/subscribers.py), through the client."""

import csv
import io
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import Action
from tests.accounts.factories import (
    ActionFactory,
    IPAssignmentFactory,
    MailAccountFactory,
    SubscriberFactory,
)
from tests.complaints.factories import ComplaintFactory, MailingFactory, StrikeFactory

pytestmark = pytest.mark.django_db

SEARCH = reverse("accounts:subscriber_search")


@pytest.fixture
def harbour(db):
    subscriber = SubscriberFactory(
        account_number="B0000042", name="Harbour Bakery", status="suspended"
    )
    MailAccountFactory(subscriber=subscriber, login="abakery", address="ag@isp.example")
    IPAssignmentFactory(subscriber=subscriber, network="192.0.2.0/28")
    return subscriber


@pytest.fixture
def history(harbour):
    """Two strikes (one revoked), a suspension with its notice, a complaint."""
    now = timezone.now()
    mailing = MailingFactory(subscriber=harbour, subject="=HYPERLINK(1) deals")
    StrikeFactory(mailing=mailing)
    StrikeFactory(
        mailing=MailingFactory(subscriber=harbour, subject="Newsletter"),
        revoked_at=now,
        revoke_reason="Confirmed opt-in list",
    )
    ActionFactory(
        subscriber=harbour,
        kind=Action.Kind.SUSPENSION,
        reason="Strike 3 of 3: the limit is reached.",
        notice_template="suspension",
        notified_at=now,
    )
    ActionFactory(subscriber=harbour, kind=Action.Kind.NOTE, reason="Internal note")
    ComplaintFactory(
        subscriber=harbour,
        mailing=mailing,
        complainant_email="whistle@complainer.example",
        complainant_name="Wanda Whistle",
    )
    return harbour


@pytest.mark.parametrize(
    "query", ["B0000042", "abakery", "ag@isp.example", "192.0.2.5", "Harbour"]
)
def test_single_match_goes_straight_to_the_subscriber(support_client, harbour, query):
    response = support_client.get(SEARCH, {"q": query})
    assert response.status_code == 302
    assert response["Location"] == harbour.get_absolute_url()


def test_several_matches_are_listed(support_client, harbour):
    SubscriberFactory(name="Harbour Other")
    response = support_client.get(SEARCH, {"q": "harbour"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "Harbour Bakery" in html and "Harbour Other" in html
    assert "found by name" in html


def test_no_match_says_so(support_client, harbour):
    response = support_client.get(SEARCH, {"q": "nobody-at-all"})
    assert "No subscriber matches that" in response.content.decode()


def test_search_by_ip_at_a_time(support_client, harbour):
    response = support_client.get(
        SEARCH, {"q": "192.0.2.1", "at": timezone.now().strftime("%Y-%m-%dT%H:%M")}
    )
    assert response.status_code == 302


def test_subscriber_page_shows_the_strike_history(support_client, history):
    response = support_client.get(history.get_absolute_url())
    html = response.content.decode()
    assert response.status_code == 200
    assert "Newsletter" in html and "Confirmed opt-in list" in html
    assert "Suspension notice" in html
    assert "Strike 3 of 3" in html


@pytest.mark.parametrize(
    "url_name",
    [
        "accounts:subscriber_detail",
        "accounts:subscriber_history_csv",
        "accounts:subscriber_history_print",
    ],
)
def test_support_never_sees_who_complained(support_client, history, url_name):
    response = support_client.get(reverse(url_name, args=[history.pk]))
    text = response.content.decode()
    assert response.status_code == 200
    assert "whistle" not in text.lower()
    assert "complainer.example" not in text


def test_history_csv_lists_strikes_revocations_and_notices(support_client, history):
    url = reverse("accounts:subscriber_history_csv", args=[history.pk])
    response = support_client.get(url)
    assert response["Content-Type"].startswith("text/csv")
    assert 'filename="strike-history-B0000042.csv"' in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == ["date", "event", "mailing_date", "subject", "reason", "detail"]
    events = [row[1] for row in rows[1:]]
    assert events.count("Strike") == 2
    assert "Strike revoked" in events
    assert "Suspension" in events
    assert "Notice: Suspension notice" in events
    assert "Note" not in events
    subjects = {row[3] for row in rows[1:]}
    # A subject that a spreadsheet would run as a formula is quoted.
    assert "'=HYPERLINK(1) deals" in subjects


def test_history_print_page(support_client, history):
    url = reverse("accounts:subscriber_history_print", args=[history.pk])
    response = support_client.get(url)
    html = response.content.decode()
    assert response.status_code == 200
    assert "Strike history of account B0000042" in html
    assert "Confirmed opt-in list" in html
    assert "Internal note" not in html
    assert "abby" not in html and "sam" not in html.split("<main")[1]


def test_history_pages_need_a_desk_login(client, history):
    for name in (
        "accounts:subscriber_history_csv",
        "accounts:subscriber_history_print",
    ):
        response = client.get(reverse(name, args=[history.pk]))
        assert response.status_code == 302
        assert response["Location"].startswith("/login/")


def test_subscriber_page_makes_no_query_per_row(
    support_client, harbour, django_assert_max_num_queries
):
    for _ in range(10):
        StrikeFactory(mailing=MailingFactory(subscriber=harbour))
        ActionFactory(subscriber=harbour, notice_template="warning")
    with django_assert_max_num_queries(14):
        support_client.get(harbour.get_absolute_url())


@pytest.fixture
def shop(db):
    return SubscriberFactory(account_number="B0000077", name="Corner Shop")


def test_only_meaningful_status_actions_are_offered(abuse_client, shop):
    page = abuse_client.get(f"/subscribers/{shop.pk}/")
    offered = [change for change, _label in page.context["status_actions"]]
    assert offered == ["suspend", "terminate", "restrict"]


def test_support_sees_no_status_controls(support_client, shop):
    page = support_client.get(f"/subscribers/{shop.pk}/")
    assert b"/status/" not in page.content
    assert (
        support_client.get(f"/subscribers/{shop.pk}/status/suspend/").status_code == 403
    )


def test_support_reads_the_standing_and_the_text_of_each_notice(support_client):
    subscriber = SubscriberFactory(name="Corner Shop")
    mailing = MailingFactory(subscriber=subscriber)
    StrikeFactory(mailing=mailing)
    StrikeFactory(mailing=MailingFactory(subscriber=subscriber))
    ActionFactory(
        subscriber=subscriber,
        kind=Action.Kind.FINAL_WARNING,
        notice_template="final_warning",
        notified_at=timezone.now(),
        notice_text="Subject: Final warning\n\nHello Corner Shop, this is the last.",
    )
    page = support_client.get(subscriber.get_absolute_url())
    text = page.content.decode()
    assert '<p class="stat" id="standing">2 of 3</p>' in text
    assert "Hello Corner Shop, this is the last." in text
    assert "Strike 3 not reached" in text


def test_search_results_show_each_subscribers_live_strikes(support_client, settings):
    settings.ABUSE_STRIKE_WINDOW_DAYS = 30
    corner = SubscriberFactory(name="Corner Shop")
    SubscriberFactory(name="Corner Bakery")
    for days in (1, 2, 40):
        StrikeFactory(
            mailing=MailingFactory(subscriber=corner),
            issued_at=timezone.now() - timedelta(days=days),
        )

    page = support_client.get(SEARCH, {"q": "Corner"})

    rows = {s.name: standing for s, standing in page.context["rows"]}
    assert rows == {"Corner Shop": "2 of 3", "Corner Bakery": "0 of 3"}
    assert b'<td class="standing">2 of 3</td>' in page.content
