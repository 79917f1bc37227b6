"""Saving and resetting staff's wording of the desk's mail."""

import pytest
from django.core.exceptions import ValidationError

from accounts.models import MailTemplate
from accounts.services.mail_templates import mail_template_reset, mail_template_save

pytestmark = pytest.mark.django_db

NAME = "complaints/email/acknowledgment"


def test_saving_twice_keeps_one_row_with_the_latest_text(abuse_user):
    mail_template_save(name=NAME, subject="One", body="First", actor=abuse_user)
    mail_template_save(name=NAME, subject="Two", body="Second", actor=abuse_user)
    saved = MailTemplate.objects.get()
    assert (saved.subject, saved.body, saved.updated_by) == (
        "Two",
        "Second",
        abuse_user,
    )


@pytest.mark.parametrize(
    ("name", "subject", "body"),
    [
        ("accounts/email/nonexistent", "S", "B"),
        (NAME, "", "B"),
        (NAME, "two\nlines", "B"),
        (NAME, "S", "   "),
        (NAME, "S", "{% for %}"),
        (NAME, "{{ a|nosuchfilter }}", "B"),
    ],
)
def test_bad_wording_is_refused(abuse_user, name, subject, body):
    with pytest.raises(ValidationError):
        mail_template_save(name=name, subject=subject, body=body, actor=abuse_user)
    assert not MailTemplate.objects.exists()


def test_reset_says_whether_there_was_anything_to_reset(abuse_user):
    assert not mail_template_reset(name=NAME)
    mail_template_save(name=NAME, subject="S", body="B", actor=abuse_user)
    assert mail_template_reset(name=NAME)
