"""Staff edit the wording of the desk's mail with a preview, without a deploy."""

import pytest
from django.core import mail

from accounts.models import Action, MailTemplate
from accounts.services.status import notice_deliver
from tests.accounts.factories import ActionFactory, SubscriberFactory

pytestmark = pytest.mark.django_db

WARNING = "/mail/accounts.email.warning/"


def test_every_mail_is_listed(abuse_client):
    page = abuse_client.get("/mail/").content.decode()
    for label in ("Warning (first strike)", "Acknowledgment to a complainant"):
        assert label in page


def test_the_editor_starts_from_the_shipped_wording(abuse_client):
    page = abuse_client.get(WARNING)
    form = page.context["form"]
    assert "{{ action.reason }}" in form.initial["body"]
    assert "autoescape" not in form.initial["body"]


def test_preview_renders_with_made_up_details_and_saves_nothing(abuse_client):
    page = abuse_client.post(
        WARNING,
        {
            "subject": "Hi {{ subscriber.name }}",
            "body": "Dear {{ subscriber.name }}: {{ action.reason }}",
            "preview": "1",
        },
    )
    subject, body = page.context["preview"]
    assert subject == "Hi Example Shop Ltd"
    assert body.startswith("Dear Example Shop Ltd: Strike 1 of 3")
    assert not MailTemplate.objects.exists()


def test_saved_wording_is_used_by_the_next_notice(abuse_client):
    abuse_client.post(
        WARNING,
        {
            "subject": "Strike for {{ subscriber.account_number }}",
            "body": "Be careful, {{ subscriber.name }} & co.\n-- {{ isp_name }}",
            "save": "1",
        },
    )
    action = ActionFactory(
        subscriber=SubscriberFactory(name="Corner Shop", contact_email="c@x.example"),
        kind=Action.Kind.WARNING,
        notice_template="warning",
    )
    assert notice_deliver(action_id=action.pk)
    sent = mail.outbox[0]
    assert sent.subject == f"Strike for {action.subscriber.account_number}"
    assert sent.body.startswith("Be careful, Corner Shop & co.")


def test_a_template_error_is_shown_and_nothing_is_saved(abuse_client):
    page = abuse_client.post(
        WARNING, {"subject": "Hi", "body": "{% if %}broken", "save": "1"}
    )
    assert "template error" in page.content.decode().lower()
    assert not MailTemplate.objects.exists()


def test_reset_brings_the_shipped_wording_back(abuse_client):
    abuse_client.post(WARNING, {"subject": "Mine", "body": "Mine", "save": "1"})
    abuse_client.post(WARNING, {"reset": "1"})
    assert not MailTemplate.objects.exists()


def test_support_reps_cannot_edit_the_wording(support_client):
    assert support_client.get(WARNING).status_code == 403
