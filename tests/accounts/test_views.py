"""Notes and status changes on the subscriber page, through the client."""

import pytest
from django.urls import reverse

from accounts.models import Action, Subscriber
from tests.accounts.factories import (
    IPAssignmentFactory,
    MailAccountFactory,
    SubscriberFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def harbour(db):
    subscriber = SubscriberFactory(
        account_number="B0000042", name="Harbour Bakery", status="suspended"
    )
    MailAccountFactory(subscriber=subscriber, login="abakery", address="ag@isp.example")
    IPAssignmentFactory(subscriber=subscriber, network="192.0.2.0/28")
    return subscriber


def test_support_may_add_a_note(support_client, harbour):
    url = reverse("accounts:subscriber_note_add", args=[harbour.pk])
    response = support_client.post(url, {"text": "Customer called about it."})
    assert response.status_code == 302
    assert harbour.actions.filter(kind=Action.Kind.NOTE).count() == 1


@pytest.fixture
def shop(db):
    return SubscriberFactory(account_number="B0000077", name="Corner Shop")


def test_abuse_staff_suspend_after_a_confirmation_step(abuse_client, shop):
    url = f"/subscribers/{shop.pk}/status/suspend/"
    page = abuse_client.get(url)
    assert page.status_code == 200
    assert b"suspension notice" in page.content
    abuse_client.post(url, {"reason": "Third strike", "confirm": ""})
    shop.refresh_from_db()
    assert shop.status == Subscriber.Status.ACTIVE, "no change without confirmation"
    response = abuse_client.post(url, {"reason": "Third strike", "confirm": "on"})
    assert response.status_code == 302
    shop.refresh_from_db()
    assert shop.status == Subscriber.Status.SUSPENDED
    assert shop.actions.filter(kind="suspension", reason="Third strike").count() == 1


def test_status_change_needs_a_reason(abuse_client, shop):
    abuse_client.post(f"/subscribers/{shop.pk}/status/terminate/", {"confirm": "on"})
    shop.refresh_from_db()
    assert shop.status == Subscriber.Status.ACTIVE


def test_refused_status_change_explains_why(abuse_client, shop):
    Subscriber.objects.filter(pk=shop.pk).update(status=Subscriber.Status.TERMINATED)
    response = abuse_client.post(
        f"/subscribers/{shop.pk}/status/reinstate/",
        {"reason": "Customer called", "confirm": "on"},
    )
    assert response.status_code == 200
    assert b"cannot be reinstated" in response.content
