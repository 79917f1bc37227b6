"""Subscriber status transitions and notices, against PostgreSQL."""

import socket

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.db import transaction

from accounts.models import Action, Subscriber
from accounts.services import (
    notice_deliver,
    password_reset_record,
    subscriber_reinstate,
    subscriber_restrict,
    subscriber_suspend,
    subscriber_terminate,
)
from accounts.services.status import TRANSITIONS
from tests.accounts.factories import SubscriberFactory

pytestmark = pytest.mark.django_db

Status = Subscriber.Status

SERVICES = {
    "suspend": subscriber_suspend,
    "reinstate": subscriber_reinstate,
    "terminate": subscriber_terminate,
    "restrict": subscriber_restrict,
    "password_reset": password_reset_record,
}


@pytest.mark.parametrize(
    ("name", "start", "end"),
    [
        ("suspend", Status.ACTIVE, Status.SUSPENDED),
        ("suspend", Status.RESTRICTED, Status.SUSPENDED),
        ("suspend", Status.SUSPENDED, None),
        ("suspend", Status.TERMINATED, None),
        ("reinstate", Status.SUSPENDED, Status.ACTIVE),
        ("reinstate", Status.ACTIVE, None),
        ("reinstate", Status.RESTRICTED, ValidationError),
        ("reinstate", Status.TERMINATED, ValidationError),
        ("terminate", Status.ACTIVE, Status.TERMINATED),
        ("terminate", Status.RESTRICTED, Status.TERMINATED),
        ("terminate", Status.SUSPENDED, Status.TERMINATED),
        ("terminate", Status.TERMINATED, None),
        ("restrict", Status.ACTIVE, Status.RESTRICTED),
        ("restrict", Status.RESTRICTED, None),
        ("restrict", Status.SUSPENDED, None),
        ("restrict", Status.TERMINATED, None),
        ("password_reset", Status.RESTRICTED, Status.ACTIVE),
        ("password_reset", Status.ACTIVE, None),
        ("password_reset", Status.SUSPENDED, ValidationError),
        ("password_reset", Status.TERMINATED, ValidationError),
    ],
)
def test_transition_table(committed, abuse_user, name, start, end):
    """``end`` is the new status, None for "nothing changes or is written", or
    ValidationError for a refusal."""
    subscriber = SubscriberFactory(status=start)

    if end is ValidationError:
        with pytest.raises(ValidationError):
            SERVICES[name](subscriber=subscriber, actor=abuse_user, reason="Because")
        action = None
    else:
        action = committed(
            SERVICES[name], subscriber=subscriber, actor=abuse_user, reason="Because"
        )

    subscriber.refresh_from_db()
    if end in (None, ValidationError):
        assert action is None
        assert subscriber.status == start
        assert not Action.objects.exists()
        assert mail.outbox == []
    else:
        assert subscriber.status == end
        assert action.kind == TRANSITIONS[name].kind
        assert action.actor == abuse_user
        assert len(mail.outbox) == (1 if TRANSITIONS[name].notice_template else 0)


@pytest.mark.parametrize("name", ["suspend", "reinstate", "terminate", "restrict"])
def test_staff_status_changes_need_a_reason(subscriber, abuse_user, name):
    with pytest.raises(ValidationError, match="reason"):
        SERVICES[name](subscriber=subscriber, actor=abuse_user, reason=" ")


def test_suspension_updates_the_instance_it_was_given(subscriber, abuse_user):
    subscriber_suspend(subscriber=subscriber, actor=abuse_user, reason="Spam")

    assert subscriber.status == Status.SUSPENDED
    assert not subscriber.may_send


def test_suspending_twice_writes_and_sends_once(committed, subscriber, abuse_user):
    committed(subscriber_suspend, subscriber=subscriber, actor=abuse_user, reason="A")

    second = committed(
        subscriber_suspend, subscriber=subscriber, actor=abuse_user, reason="B"
    )

    assert second is None
    assert Action.objects.count() == 1
    assert len(mail.outbox) == 1


def test_suspension_notice_names_the_reason_and_is_marked_automatic(
    committed, subscriber, abuse_user, settings
):
    settings.ABUSE_FROM_EMAIL = "abuse@isp.example"

    action = committed(
        subscriber_suspend,
        subscriber=subscriber,
        actor=abuse_user,
        reason="Open relay on your server",
    )

    [notice] = mail.outbox
    assert notice.from_email == "abuse@isp.example"
    assert notice.to == [subscriber.contact_email]
    assert notice.extra_headers["Auto-Submitted"] == "auto-generated"
    assert "Open relay on your server" in notice.body
    assert "\n" not in notice.subject
    action.refresh_from_db()
    assert action.notice_template == "suspension"
    assert action.notified_at is not None


def test_system_actions_have_no_actor(committed, subscriber):
    action = committed(
        subscriber_suspend, subscriber=subscriber, actor=None, reason="Bounce storm"
    )

    assert action.actor is None
    assert action.actor_label == "system"


def test_restricted_account_cannot_send_until_its_password_reset_is_recorded(
    committed, subscriber, abuse_user
):
    committed(
        subscriber_restrict, subscriber=subscriber, actor=abuse_user, reason="Virus"
    )
    assert not subscriber.may_send

    action = committed(password_reset_record, subscriber=subscriber, actor=abuse_user)

    assert subscriber.may_send
    assert action.kind == Action.Kind.PASSWORD_RESET
    assert action.reason == "Password reset recorded."
    assert action.notice_template == ""
    assert len(mail.outbox) == 1  # the advice only


def test_restriction_sends_the_security_advice(committed, subscriber, abuse_user):
    committed(
        subscriber_restrict, subscriber=subscriber, actor=abuse_user, reason="Trojan"
    )

    [advice] = mail.outbox
    assert "antivirus" in advice.body
    assert "blocked until your password has been" in advice.body


def test_notice_is_not_sent_when_the_transaction_rolls_back(
    django_capture_on_commit_callbacks, subscriber, abuse_user
):
    with django_capture_on_commit_callbacks(execute=True):
        with pytest.raises(RuntimeError), transaction.atomic():
            subscriber_suspend(subscriber=subscriber, actor=abuse_user, reason="X")
            raise RuntimeError("rolled back")

    assert mail.outbox == []
    assert not Action.objects.exists()


def test_notice_is_delivered_only_once_however_often_it_is_asked_for(
    subscriber, abuse_user
):
    action = subscriber_suspend(subscriber=subscriber, actor=abuse_user, reason="X")

    results = [notice_deliver(action_id=action.pk) for _ in range(3)]

    assert results == [True, False, False]
    assert len(mail.outbox) == 1


def test_notice_without_a_contact_address_stays_unsent(abuse_user):
    subscriber = SubscriberFactory(contact_email="")
    action = subscriber_suspend(subscriber=subscriber, actor=abuse_user, reason="X")

    assert notice_deliver(action_id=action.pk) is False
    action.refresh_from_db()
    assert action.notified_at is None


def test_action_without_a_notice_sends_nothing(subscriber, abuse_user):
    action = password_reset_record(
        subscriber=SubscriberFactory(status=Status.RESTRICTED), actor=abuse_user
    )

    assert notice_deliver(action_id=action.pk) is False
    assert mail.outbox == []


def test_failed_delivery_releases_the_notice_for_a_retry(
    subscriber, abuse_user, settings
):
    with socket.socket() as probe:  # a port with nothing listening on it
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_TIMEOUT = 5
    action = subscriber_suspend(subscriber=subscriber, actor=abuse_user, reason="X")

    assert notice_deliver(action_id=action.pk) is False
    action.refresh_from_db()
    assert action.notified_at is None

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert notice_deliver(action_id=action.pk) is True
    assert len(mail.outbox) == 1


def test_termination_sends_its_notice_and_keeps_the_row(
    committed, subscriber, abuse_user
):
    committed(
        subscriber_terminate, subscriber=subscriber, actor=abuse_user, reason="Spam"
    )

    assert Subscriber.objects.filter(pk=subscriber.pk).exists()
    assert mail.outbox[0].subject.endswith("has been closed")


def test_reinstatement_sends_its_notice(committed, abuse_user):
    subscriber = SubscriberFactory(status=Status.SUSPENDED)

    committed(
        subscriber_reinstate,
        subscriber=subscriber,
        actor=abuse_user,
        reason="Customer cleaned the list",
    )

    [notice] = mail.outbox
    assert notice.subject.endswith("is restored")
    assert "Customer cleaned the list" in notice.body
