"""Mail the desk sends to complainants.

Every message carries ``Auto-Submitted: auto-replied`` (RFC 3834) so that the
desk's own mail, bounced or auto-answered, can never loop back in as a complaint.
"""

import logging
from datetime import timedelta

import redis
from django.conf import settings
from django.core.mail import EmailMessage

from abusedesk.mail import mail_send_claimed
from accounts.notices import mail_render
from complaints.models import Complaint

logger = logging.getLogger(__name__)

AUTO_REPLY_HEADERS = {
    "Auto-Submitted": "auto-replied",
    "X-Auto-Response-Suppress": "All",
}


def complaints_acknowledge_enqueue(*, complaint_ids: list[int]) -> bool:
    """Queue the acknowledgments of new complaints. A Redis outage is logged, not
    raised: the sweep finds complaints still unacknowledged and queues them."""
    from complaints import jobs  # jobs import services; import at call time

    try:
        jobs.complaints_acknowledge_job.delay(list(complaint_ids))
    except redis.exceptions.RedisError:
        logger.warning("could not queue acknowledgments for %s", complaint_ids)
        return False
    return True


def complaints_unacknowledged(
    *, now, older_than: timedelta, within: timedelta
) -> list[int]:
    """Complaints whose acknowledgment should have gone out by now (their job was
    lost). Only recent ones: an acknowledgment weeks late helps nobody."""
    # Only those recording decided to acknowledge (``needs_acknowledgment``):
    # the rule is applied once, there, never again here.
    return list(
        Complaint.objects.filter(
            needs_acknowledgment=True,
            acknowledged_at__isnull=True,
            received_at__lt=now - older_than,
            received_at__gte=now - within,
        ).values_list("pk", flat=True)[:5000]
    )


def complaint_acknowledge(*, complaint_id: int) -> bool:
    """Send the complainant one acknowledgment quoting the reference.

    Claimed before sending (``abusedesk.mail``), so two workers or a replayed
    job never send it twice; released when sending fails, so the sweep sends it
    later. Returns whether this call sent it.
    """
    complaint = Complaint.objects.filter(
        pk=complaint_id, acknowledged_at__isnull=True
    ).first()
    if complaint is None:
        return False
    subject, body = mail_render(
        name="complaints/email/acknowledgment",
        context={
            "complaint": complaint,
            "status_url": settings.ABUSE_PUBLIC_URL + "/report/status/",
        },
    )
    message = EmailMessage(
        subject=subject,
        body=body,
        from_email=settings.ABUSE_FROM_EMAIL,
        to=[complaint.complainant_email],
        headers=AUTO_REPLY_HEADERS,
    )
    if not mail_send_claimed(row=complaint, field="acknowledged_at", message=message):
        return False
    logger.info("acknowledged complaint %s", complaint.pk)
    return True
