"""Submissions before the policy service: rows from an ISP's Postfix logs."""

from collections.abc import Iterable

from django.db import transaction

from accounts.models import MailAccount
from outbound.maillog import LoggedSubmission
from outbound.models import Submission

BATCH = 2000


def maillog_import(*, submissions: Iterable[LoggedSubmission]) -> int:
    """Write the logged submissions (each batch in one transaction); a line
    imported twice adds nothing (relay host + queue id + time is unique).
    Returns how many were read."""
    total, batch = 0, []
    for logged in submissions:
        batch.append(logged)
        if len(batch) >= BATCH:
            total += _write(batch)
            batch = []
    if batch:
        total += _write(batch)
    return total


@transaction.atomic
def _write(batch: list[LoggedSubmission]) -> int:
    owners = dict(
        MailAccount.objects.filter(
            login__in={s.login for s in batch if s.login}
        ).values_list("login", "subscriber_id")
    )
    Submission.objects.bulk_create(
        [
            Submission(
                relay_host=s.relay_host[:255],
                queue_id=s.queue_id[:32],
                decided_at=s.at,
                login=s.login[:254],
                subscriber_id=owners.get(s.login),
                client_address=s.client_address
                if s.client_address != "unknown"
                else None,
                sender=s.sender[:254],
                recipient_count=s.recipient_count,
                size=s.size,
                action=Submission.Action.DUNNO,
                rule=Submission.Rule.IMPORTED,
                source=Submission.Source.MAILLOG,
            )
            for s in batch
        ],
        ignore_conflicts=True,
    )
    return len(batch)
