"""Subscriber notices through a real SMTP server (aiosmtpd on loopback)."""

import socket
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default

import pytest
from aiosmtpd.controller import Controller
from django.core.exceptions import ValidationError

from accounts.models import Action
from accounts.services import notice_deliver
from complaints.services import (
    mailing_mark_compromised,
    mailing_policy_apply,
    strike_issue,
)
from tests.complaints.factories import MailingFactory

pytestmark = pytest.mark.django_db


class Inbox:
    """An aiosmtpd handler that keeps every message it accepts."""

    def __init__(self) -> None:
        self.received: list[tuple[list[str], EmailMessage]] = []

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802
        message = message_from_bytes(envelope.content, policy=default)
        self.received.append((list(envelope.rcpt_tos), message))
        return "250 Message accepted"


class Server:
    """aiosmtpd on a fixed loopback port that can be stopped and started again
    (a Controller cannot be restarted, so each start makes a new one)."""

    def __init__(self, inbox: Inbox) -> None:
        self.inbox = inbox
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.controller: Controller | None = None

    @property
    def received(self) -> list[tuple[list[str], EmailMessage]]:
        return self.inbox.received

    def start(self) -> None:
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@pytest.fixture
def smtp(settings):
    """A running SMTP server that Django's SMTP backend delivers to."""
    server = Server(Inbox())
    server.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", server.port
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_TIMEOUT = 10
    settings.ABUSE_FROM_EMAIL = "abuse@isp.example"
    yield server
    server.stop()


def test_warning_reaches_the_subscriber_marked_as_automatic(
    smtp, committed, subscriber, abuse_user
):
    mailing = MailingFactory(
        subscriber=subscriber, subject="Cheap watches", complaint_count=2
    )

    committed(strike_issue, mailing=mailing, actor=abuse_user)

    [(recipients, message)] = smtp.received
    assert recipients == [subscriber.contact_email]
    assert message["From"] == "abuse@isp.example"
    assert message["Subject"] == (
        f"Warning about mail sent from your account {subscriber.account_number}"
    )
    assert message["Auto-Submitted"] == "auto-generated"
    body = message.get_content()
    assert '"Cheap watches") drew 2 complaints' in body
    assert "Strike 1 of 3" in body


def test_bounce_storm_suspension_tells_the_subscriber_why(smtp, committed, subscriber):
    mailing = MailingFactory(
        subscriber=subscriber, recipient_count=200, hard_bounce_count=60
    )

    committed(mailing_policy_apply, mailing=mailing)

    [(recipients, message)] = smtp.received
    assert recipients == [subscriber.contact_email]
    assert message["Subject"].endswith("is suspended")
    assert message["Auto-Submitted"] == "auto-generated"
    body = message.get_content()
    assert "60 out of 200 addresses that do not exist" in body
    assert "suspended at once" in body


def test_compromise_advice_gives_the_security_advice(
    smtp, committed, subscriber, abuse_user
):
    mailing = MailingFactory(subscriber=subscriber, complaint_count=1)

    committed(mailing_mark_compromised, mailing=mailing, actor=abuse_user)

    [(recipients, message)] = smtp.received
    assert recipients == [subscriber.contact_email]
    assert "compromised" in message["Subject"]
    assert message["Auto-Submitted"] == "auto-generated"
    body = message.get_content()
    assert "one you use nowhere else" in body
    assert "antivirus" in body
    assert "downloads" in body


def test_notice_is_sent_once_after_the_server_comes_back(
    smtp, committed, subscriber, abuse_user
):
    smtp.stop()
    mailing = MailingFactory(subscriber=subscriber, complaint_count=1)
    committed(strike_issue, mailing=mailing, actor=abuse_user)
    warning = Action.objects.get(kind=Action.Kind.WARNING)
    assert warning.notified_at is None

    smtp.start()
    assert notice_deliver(action_id=warning.pk) is True
    assert notice_deliver(action_id=warning.pk) is False

    assert len(smtp.received) == 1
    warning.refresh_from_db()
    assert warning.notified_at is not None


def test_refused_strike_sends_nothing(smtp, committed, subscriber, abuse_user):
    mailing = MailingFactory(subscriber=subscriber, complaint_count=0)

    with pytest.raises(ValidationError):
        committed(strike_issue, mailing=mailing, actor=abuse_user)

    assert smtp.received == []


def test_acknowledgment_is_sent_once_after_the_server_comes_back(smtp):
    """A failed send releases the claim, so the sweep sends it later, once."""
    from datetime import timedelta

    from django.utils import timezone

    from complaints import services
    from complaints.models import Complaint
    from complaints.services import notices
    from tests.complaints.mail import human_complaint

    inbound, _ = services.inbound_store(
        raw=human_complaint(), channel="pipe", enqueue=False
    )
    services.inbound_process(inbound_id=inbound.pk)
    complaint = Complaint.objects.get()
    smtp.stop()
    assert notices.complaint_acknowledge(complaint_id=complaint.pk) is False
    complaint.refresh_from_db()
    assert complaint.acknowledged_at is None, "the claim was released"

    smtp.start()
    Complaint.objects.filter(pk=complaint.pk).update(
        received_at=timezone.now() - timedelta(hours=1)
    )
    assert notices.complaints_unacknowledged(
        now=timezone.now(), older_than=timedelta(minutes=10), within=timedelta(days=2)
    ) == [complaint.pk]
    assert notices.complaint_acknowledge(complaint_id=complaint.pk) is True
    assert notices.complaint_acknowledge(complaint_id=complaint.pk) is False
    assert [rcpt for rcpt, _message in smtp.received] == [[complaint.complainant_email]]
