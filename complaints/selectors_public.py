"""The public status page's one read: where does my report stand?

The answer is a state in plain words and nothing else: never the subscriber, the
mailing, the linking or what action was taken against whom. A reference is only
answered together with the address that filed it, and a wrong pair gets the same
answer as an unknown reference, so the page cannot be used to probe references.
"""

from dataclasses import dataclass
from datetime import datetime

from complaints.ingest import parse
from complaints.models import Complaint, InboundMessage, Mailing
from complaints.services.public_reports import report_message_id


class PublicState:
    RECEIVED = "received"
    UNDER_REVIEW = "under_review"
    ACTION_TAKEN = "action_taken"
    CLOSED = "closed"


# What each state means, in the words the status page uses.
PUBLIC_STATE_TEXT = {
    PublicState.RECEIVED: (
        "Received",
        "Your report is on record and waiting for our abuse team.",
    ),
    PublicState.UNDER_REVIEW: (
        "Under review",
        "Our abuse team has matched your report to the mail it is about and is "
        "looking into it.",
    ),
    PublicState.ACTION_TAKEN: (
        "Action taken",
        "Our abuse team has acted on the account that sent the message. For "
        "privacy reasons we cannot say what was done.",
    ),
    PublicState.CLOSED: (
        "Reviewed, no further action",
        "Our abuse team has reviewed your report and closed it.",
    ),
}
_ACTED = {
    Mailing.State.STRUCK,
    Mailing.State.COMPROMISED,
    Mailing.State.REJECTED,
}


@dataclass(frozen=True)
class PublicStatus:
    reference: str
    state: str
    received_at: datetime
    is_repeat: bool = False

    @property
    def label(self) -> str:
        return PUBLIC_STATE_TEXT[self.state][0]

    @property
    def explanation(self) -> str:
        return PUBLIC_STATE_TEXT[self.state][1]


def report_status(*, reference: str, email: str) -> PublicStatus | None:
    """The public state of the report with ``reference`` filed by ``email``, or
    None. A web report carries its reference from the form into its complaint
    (complaint_record reads X-Abuse-Desk-Reference); one still waiting in the
    queue (or failed, awaiting staff) has no complaint yet and is found by its
    Message-ID: ``received``."""
    reference = reference.strip().upper()
    email = email.strip().lower()
    complaint = (
        Complaint.objects.select_related("mailing").filter(reference=reference).first()
    )
    if complaint is not None:
        if (complaint.complainant_email or "").lower() != email:
            return None
        return PublicStatus(
            reference=reference,
            state=_public_state(complaint),
            received_at=complaint.received_at,
            is_repeat=complaint.state == Complaint.State.DUPLICATE,
        )
    inbound = _waiting_inbound(reference)
    if inbound is None or _sender(inbound) != email:
        return None
    return PublicStatus(
        reference=reference,
        state=PublicState.RECEIVED,
        received_at=inbound.received_at,
    )


def _public_state(complaint: Complaint) -> str:
    mailing = complaint.mailing
    if complaint.state == Complaint.State.DISMISSED:
        return PublicState.CLOSED
    if mailing is None:
        return PublicState.RECEIVED
    if mailing.state in _ACTED:
        return PublicState.ACTION_TAKEN
    if mailing.state == Mailing.State.DISMISSED:
        return PublicState.CLOSED
    return PublicState.UNDER_REVIEW


def _waiting_inbound(reference: str) -> InboundMessage | None:
    # The state index narrows this to the few messages not yet processed.
    return (
        InboundMessage.objects.filter(
            state__in=[InboundMessage.State.PENDING, InboundMessage.State.FAILED],
            channel=InboundMessage.Channel.WEB_FORM,
            message_id=report_message_id(reference=reference),
        )
        .only("raw", "received_at")
        .first()
    )


def _sender(inbound: InboundMessage) -> str:
    # Only the header block: the body holds the complainant's upload, which
    # may be over the parser's work limits.
    head = parse.header_block(bytes(inbound.raw[:65536]))
    message = parse.parse_header_block(head.decode("utf-8", "surrogateescape"))
    return parse.clean_address(parse.header(message, "From")) or ""
