"""Right-to-left overrides and other invisible controls in text a sender or
customer controls are shown as visible escapes on every staff page, as the
complaint page does, never rendered live."""

import pytest
from django.urls import reverse

from tests.accounts.factories import ActionFactory, SubscriberFactory
from tests.complaints.factories import ComplaintFactory, MailingFactory

pytestmark = pytest.mark.django_db

RLO = "\u202e"
TEXT = f"Invoice {RLO}fdp.exe"


@pytest.fixture
def hostile(subscriber):
    subscriber.name = f"Shop {RLO}dtl"
    subscriber.save()
    mailing = MailingFactory(
        subscriber=subscriber,
        subject=TEXT,
        complaint_count=1,
    )
    ComplaintFactory(subject=TEXT, mailing=mailing, subscriber=subscriber)
    ActionFactory(
        subscriber=subscriber, reason=f"Customer says {RLO}reverse", mailing=mailing
    )
    return mailing


def _assert_revealed(response):
    html = response.content.decode()
    assert response.status_code == 200
    assert RLO not in html
    assert "&lt;U+202E&gt;" in html


def test_queue_reveals_controls(abuse_client, hostile):
    _assert_revealed(abuse_client.get(reverse("complaints:complaint_list")))


def test_mailing_page_reveals_controls(abuse_client, hostile):
    _assert_revealed(abuse_client.get(hostile.get_absolute_url()))


def test_dashboard_reveals_controls(abuse_client, hostile):
    _assert_revealed(abuse_client.get(reverse("complaints:dashboard")))


def test_subscriber_pages_reveal_controls(abuse_client, hostile):
    subscriber = hostile.subscriber
    _assert_revealed(abuse_client.get(subscriber.get_absolute_url()))
    _assert_revealed(
        abuse_client.get(
            reverse("accounts:subscriber_history_print", args=[subscriber.pk])
        )
    )
    SubscriberFactory(name="Shop two")  # two matches: the search lists them
    _assert_revealed(
        abuse_client.get(reverse("accounts:subscriber_search"), {"q": "Shop"})
    )
