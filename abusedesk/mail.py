"""Sending one message at most once, and again later when sending failed.

Used by every kind of mail the desk sends on its own (complainants'
acknowledgments, subscribers' notices): a timestamp column on the row says the
message went out. It is claimed with a conditional UPDATE before sending, so of
two workers, or a replayed job, only one sends; when sending fails the claim is
released, so that a retry or the periodic sweep can send it later. A claim
held by a worker killed while sending stays: the message may have gone out,
and a second copy is worse than a late one.
"""

import logging

from django.core.mail import EmailMessage
from django.db.models import Model
from django.utils import timezone

logger = logging.getLogger(__name__)


def mail_send_claimed(
    *, row: Model, field: str, message: EmailMessage, also: dict | None = None
) -> bool:
    """Claim ``row.<field>`` (NULL until sent), send ``message``, and release the
    claim if sending fails. Returns whether this call sent it. Render the
    message before calling: a template error must not cost a claim. ``also``
    holds more fields written with the claim (say, the text that was sent)."""
    rows = type(row)._default_manager.filter(pk=row.pk)
    claimed_at = timezone.now()
    claim = {field: claimed_at, **(also or {})}
    if not rows.filter(**{f"{field}__isnull": True}).update(**claim):
        return False
    try:
        message.send()
    except OSError:  # smtplib's errors are OSErrors too, as are refused connections
        rows.filter(**{field: claimed_at}).update(**{field: None})
        logger.exception(
            "%s %s: mail not sent; it will be tried again", row._meta.label, row.pk
        )
        return False
    setattr(row, field, claimed_at)
    return True
