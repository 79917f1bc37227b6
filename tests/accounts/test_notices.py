"""The text of a notice: kept when it is sent, rendered for older ones."""

import pytest
from django.core import mail

from accounts.models import Action
from accounts.notices import notice_render, notice_text
from accounts.services.status import notice_deliver
from tests.accounts.factories import ActionFactory, SubscriberFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def warning(db):
    subscriber = SubscriberFactory(name="Harbour Bakery", contact_email="hb@c.example")
    return ActionFactory(
        subscriber=subscriber,
        kind=Action.Kind.WARNING,
        notice_template="warning",
        reason="Strike 1 of 3: Mailing #7 drew 2 complaints.",
    )


def test_a_sent_notice_keeps_the_text_the_customer_got(warning):
    assert notice_deliver(action_id=warning.pk)
    warning.refresh_from_db()
    sent = mail.outbox[0]
    assert warning.notice_text == f"Subject: {sent.subject}\n\n{sent.body}"
    assert notice_text(action=warning) == warning.notice_text


def test_an_older_notice_is_rendered_from_its_template(warning):
    subject, body = notice_render(action=warning)
    text = notice_text(action=warning)
    assert text.startswith(f"Subject: {subject}")
    assert "Strike 1 of 3: Mailing #7 drew 2 complaints." in text
    assert "Hello Harbour Bakery" in body


def test_an_action_without_notice_has_no_text():
    assert notice_text(action=ActionFactory.build(notice_template="")) == ""


def test_every_notice_names_the_isp_and_its_contact(warning, settings):
    settings.ABUSE_ISP_NAME = "Harbour Net"
    settings.ABUSE_ISP_CONTACT = "abuse@harbour.example"
    for template in (
        "warning",
        "final_warning",
        "suspension",
        "termination",
        "reinstatement",
        "compromise_advice",
    ):
        warning.notice_template = template
        _subject, body = notice_render(action=warning)
        assert "The abuse team of Harbour Net\nabuse@harbour.example" in body, template
