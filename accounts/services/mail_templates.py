"""Staff's own wording of the mail the desk sends (MailTemplate): save it, or
go back to the shipped wording. Applies from the next mail on, without a
deploy; mail already sent keeps the text it went out with (Action.notice_text).
"""

from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.template import TemplateSyntaxError
from django.utils import timezone

from accounts.models import MailTemplate
from accounts.notices import MAILS, mail_template_compile


@transaction.atomic
def mail_template_save(
    *,
    name: str,
    subject: str,
    body: str,
    actor: AbstractBaseUser | None,
    now: datetime | None = None,
) -> MailTemplate:
    """Store staff's wording for mail ``name``. Refused for an unknown mail, an
    empty or multi-line subject, or text that does not compile as a template.
    Saving the same text twice leaves one row."""
    if name not in MAILS:
        raise ValidationError(f"There is no mail called {name!r}.")
    subject, body = subject.strip(), body.replace("\r\n", "\n")
    if not subject or "\n" in subject:
        raise ValidationError("The subject is one line of text.")
    if not body.strip():
        raise ValidationError("The body cannot be empty.")
    for part, source in (("subject", subject), ("body", body)):
        try:
            mail_template_compile(source=source)
        except TemplateSyntaxError as error:
            raise ValidationError(f"The {part} has a template error: {error}") from None
    template, _ = MailTemplate.objects.update_or_create(
        name=name,
        defaults={
            "subject": subject,
            "body": body,
            "updated_at": now or timezone.now(),
            "updated_by": actor
            if actor is not None and actor.is_authenticated
            else None,
        },
    )
    return template


@transaction.atomic
def mail_template_reset(*, name: str) -> bool:
    """Go back to the shipped wording; returns whether staff's was in force."""
    deleted, _ = MailTemplate.objects.filter(name=name).delete()
    return bool(deleted)
