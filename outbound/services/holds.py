"""Held batches: staff release or reject them, and the MTA's queue commands run,
one RQ job per queue id, with each outcome on the subscriber's timeline.

Only queue ids the policy service itself recorded for the batch (its Submission
rows) reach a command, and only when they look like Postfix queue ids; ids that
came from reports never do. Commands are argument lists (no shell); ``{queue_id}``
and ``{relay_host}`` in the configured command are filled in, and a command
without ``{queue_id}`` gets the id appended.
"""

import logging
import re
import shlex
import subprocess
from datetime import datetime

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.models import Action
from accounts.services.timeline import action_record
from complaints.models import Mailing
from complaints.queueids import is_postfix_queue_id
from outbound.models import Submission
from outbound.queuefile import parse_queue_headers

logger = logging.getLogger(__name__)

_HOST = re.compile(r"[A-Za-z0-9][A-Za-z0-9.-]{0,253}")
OPERATIONS = {
    "release": "ABUSE_QUEUE_RELEASE_COMMAND",
    "delete": "ABUSE_QUEUE_DELETE_COMMAND",
    "headers": "ABUSE_QUEUE_HEADERS_COMMAND",
}


@transaction.atomic
def held_batch_decide(
    *, mailing: Mailing, actor: AbstractBaseUser, release: bool, reason: str = ""
) -> Mailing:
    """Release (or reject, which needs a reason) a held batch, and enqueue the
    queue command for each of its messages after commit. Deciding a batch that is
    no longer held changes nothing and runs nothing."""
    if not release and not reason.strip():
        raise ValidationError("Say why the batch is rejected.")
    mailing = Mailing.objects.select_for_update(no_key=True).get(pk=mailing.pk)
    if mailing.state != Mailing.State.HELD:
        return mailing
    mailing.state = Mailing.State.RELEASED if release else Mailing.State.REJECTED
    mailing.save(update_fields=["state"])
    action_record(
        subscriber=mailing.subscriber,
        kind=Action.Kind.HOLD_RELEASED if release else Action.Kind.HOLD_REJECTED,
        actor=actor,
        reason=reason.strip(),
        mailing=mailing,
    )
    ids = list(
        Submission.objects.filter(mailing=mailing, action=Submission.Action.HOLD)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    operation = "release" if release else "delete"
    transaction.on_commit(lambda: _enqueue(ids, operation))
    return mailing


def held_headers_request(*, mailing: Mailing) -> int:
    """Enqueue the headers command for the batch's messages not read yet."""
    ids = list(
        Submission.objects.filter(mailing=mailing, headers_fetched_at__isnull=True)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    transaction.on_commit(lambda: _enqueue(ids, "headers"))
    return len(ids)


def _enqueue(submission_ids: list[int], operation: str) -> None:
    from outbound.jobs import queue_command_job

    for pk in submission_ids:
        queue_command_job.delay(pk, operation)


def queue_command_args(
    *, template: str, queue_id: str, relay_host: str
) -> list[str] | None:
    """The argument list for one queue id, or None when the id or host is not one
    a command may be given."""
    if not is_postfix_queue_id(queue_id) or not _HOST.fullmatch(relay_host or ""):
        return None
    args = shlex.split(template)
    if not any("{queue_id}" in arg for arg in args):
        args.append("{queue_id}")
    return [
        arg.replace("{queue_id}", queue_id).replace("{relay_host}", relay_host)
        for arg in args
    ]


def queue_command_run(
    *, submission_id: int, operation: str, now: datetime | None = None
) -> str:
    """Run one queue command for one held message and record its outcome. A
    release or deletion already done is not run again."""
    submission = Submission.objects.select_related("mailing").get(pk=submission_id)
    if operation != "headers" and submission.released_at is not None:
        return submission.queue_outcome
    template = getattr(settings, OPERATIONS[operation])
    if not template:
        return "no command configured"
    args = queue_command_args(
        template=template,
        queue_id=submission.queue_id,
        relay_host=submission.relay_host,
    )
    if args is None:
        outcome = f"{operation} refused: {submission.queue_id!r} is not a queue id the desk may act on"
    else:
        try:
            result = subprocess.run(  # noqa: S603 - argument list, no shell
                args,
                capture_output=True,
                timeout=settings.ABUSE_QUEUE_COMMAND_TIMEOUT,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            outcome = f"{operation} failed: {exc}"
        else:
            outcome = _outcome(operation, result)
            if operation == "headers" and result.returncode == 0:
                return _headers_store(submission, result.stdout, now)
    return _outcome_record(submission, operation, outcome, now)


def _outcome(operation: str, result: subprocess.CompletedProcess) -> str:
    if result.returncode == 0:
        return f"{operation} done"
    error = result.stderr.decode("utf-8", "replace").strip().splitlines()
    return f"{operation} failed (exit {result.returncode}): {' '.join(error)[:150]}"


@transaction.atomic
def _outcome_record(
    submission: Submission, operation: str, outcome: str, now: datetime | None
) -> str:
    submission = Submission.objects.select_for_update().get(pk=submission.pk)
    submission.queue_outcome = outcome[:255]
    fields = ["queue_outcome"]
    if operation != "headers" and outcome.endswith("done"):
        submission.released_at = now or timezone.now()
        fields.append("released_at")
    submission.save(update_fields=fields)
    if submission.mailing_id is not None:
        action_record(
            subscriber=submission.mailing.subscriber,
            kind=Action.Kind.NOTE,
            actor=None,
            reason=f"Queue id {submission.queue_id} on {submission.relay_host}: {outcome}",
            mailing=submission.mailing,
        )
    logger.info("queue command for submission %s: %s", submission.pk, outcome)
    return outcome


@transaction.atomic
def _headers_store(submission: Submission, output: bytes, now: datetime | None) -> str:
    """Keep the subject and recipients read from the queue file, and gather the
    batch's recipients on its mailing (where the batch page flags invalid ones)."""
    headers = parse_queue_headers(output)
    submission = Submission.objects.select_for_update().get(pk=submission.pk)
    submission.subject = headers.subject[:998]
    submission.recipients = list(headers.recipients)
    submission.headers_fetched_at = now or timezone.now()
    submission.save(update_fields=["subject", "recipients", "headers_fetched_at"])
    mailing = submission.mailing
    if mailing is not None:
        mailing = Mailing.objects.select_for_update(no_key=True).get(pk=mailing.pk)
        seen = list(mailing.held_recipients or [])
        seen += [r for r in headers.recipients if r not in seen]
        mailing.held_recipients = seen[:10_000]
        fields = ["held_recipients"]
        if headers.subject and mailing.subject.startswith("Burst held from"):
            mailing.subject = headers.subject[:998]
            fields.append("subject")
        mailing.save(update_fields=fields)
    return "headers read"
