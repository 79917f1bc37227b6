"""The subscriber timeline: every change to a subscriber is recorded here as an Action."""

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.models import Action, Subscriber


def action_record(
    *,
    subscriber: Subscriber,
    kind: str,
    actor: AbstractBaseUser | None,
    reason: str = "",
    **links,
) -> Action:
    """Write one timeline entry. ``links`` may carry ``mailing``, ``strike`` and
    ``notice_template``. Callers own the transaction."""
    return Action.objects.create(
        subscriber=subscriber,
        kind=kind,
        actor=actor if actor is not None and actor.is_authenticated else None,
        reason=reason,
        created_at=timezone.now(),
        **links,
    )


@transaction.atomic
def subscriber_note_add(
    *, subscriber: Subscriber, author: AbstractBaseUser, text: str
) -> Action:
    """Add a staff note to the timeline (the one write support reps may make)."""
    text = text.strip()
    if not text:
        raise ValidationError("A note cannot be empty.")
    return action_record(
        subscriber=subscriber, kind=Action.Kind.NOTE, actor=author, reason=text
    )
