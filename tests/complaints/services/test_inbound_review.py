"""Staff's review of unusable messages: reprocess with its outcome, discard."""

import pytest
from django.core.exceptions import ValidationError

from complaints import services
from complaints.models import Complaint, InboundMessage
from tests.accounts.factories import MailAccountFactory
from tests.complaints.factories import InboundMessageFactory
from tests.complaints.mail import arf_report, dsn_report

pytestmark = pytest.mark.django_db


def _stored(raw: bytes, state: str, error: str = "boom") -> InboundMessage:
    inbound, _ = services.inbound_store(raw=raw, channel="pipe", enqueue=False)
    InboundMessage.objects.filter(pk=inbound.pk).update(state=state, error=error)
    inbound.refresh_from_db()
    return inbound


def test_reprocessing_a_failed_complaint_records_it_and_says_so():
    MailAccountFactory(login="bob", address="bob@isp.example")
    inbound = _stored(arf_report(login="bob"), InboundMessage.State.FAILED)
    outcome = services.inbound_reprocess(inbound=inbound)
    complaint = Complaint.objects.get(inbound=inbound)
    assert outcome.state == InboundMessage.State.PROCESSED
    assert outcome.complaint_id == complaint.pk
    assert complaint.reference in outcome.summary


def test_reprocessing_twice_records_one_complaint():
    inbound = _stored(arf_report(login="bob"), InboundMessage.State.FAILED)
    services.inbound_reprocess(inbound=inbound)
    again = services.inbound_reprocess(inbound=inbound)
    assert again.state == InboundMessage.State.PROCESSED
    assert Complaint.objects.filter(inbound=inbound).count() == 1


def test_reprocessing_garbage_fails_again_with_the_error():
    inbound = _stored(b"\x00\x01\x02 not mail at all", InboundMessage.State.FAILED)
    outcome = services.inbound_reprocess(inbound=inbound)
    inbound.refresh_from_db()
    assert outcome.state in {InboundMessage.State.FAILED, InboundMessage.State.IGNORED}
    assert outcome.summary.startswith(("Failed again: ", "Ignored: "))
    assert inbound.error in outcome.summary


def test_reprocessing_an_ignored_message_can_record_its_bounces():
    raw = dsn_report(
        failed=[("nobody@example.com", "5.1.1", "550 5.1.1 User unknown")],
        original_message_id="<m1@shop.example>",
    )
    inbound = _stored(raw, InboundMessage.State.IGNORED, "old parser")
    outcome = services.inbound_reprocess(inbound=inbound)
    assert outcome.state == InboundMessage.State.PROCESSED
    assert outcome.bounce_count >= 1
    assert "bounce" in outcome.summary


def test_reprocess_leaves_a_processed_message_alone():
    inbound = InboundMessageFactory(state=InboundMessage.State.PROCESSED)
    outcome = services.inbound_reprocess(inbound=inbound)
    inbound.refresh_from_db()
    assert outcome.state == InboundMessage.State.PROCESSED
    assert inbound.attempts == 0


def test_discard_keeps_the_row_and_says_who_and_why(abuse_user):
    inbound = InboundMessageFactory(state=InboundMessage.State.FAILED, error="x")
    services.inbound_discard(inbound=inbound, actor=abuse_user, reason=" Test mail ")
    inbound.refresh_from_db()
    assert inbound.state == InboundMessage.State.DISCARDED
    assert (inbound.discarded_by, inbound.discard_reason) == (abuse_user, "Test mail")
    assert bytes(inbound.raw)


def test_discard_twice_keeps_the_first_reason(abuse_user):
    inbound = InboundMessageFactory(state=InboundMessage.State.FAILED)
    services.inbound_discard(inbound=inbound, actor=abuse_user, reason="first")
    services.inbound_discard(inbound=inbound, actor=abuse_user, reason="second")
    inbound.refresh_from_db()
    assert inbound.discard_reason == "first"


def test_discard_needs_a_reason(abuse_user):
    inbound = InboundMessageFactory(state=InboundMessage.State.FAILED)
    with pytest.raises(ValidationError):
        services.inbound_discard(inbound=inbound, actor=abuse_user, reason="  ")


def test_a_processed_message_cannot_be_discarded(abuse_user):
    inbound = InboundMessageFactory(state=InboundMessage.State.PROCESSED)
    with pytest.raises(ValidationError):
        services.inbound_discard(inbound=inbound, actor=abuse_user, reason="no")
    inbound.refresh_from_db()
    assert inbound.state == InboundMessage.State.PROCESSED


def test_a_discarded_message_is_not_reprocessed(abuse_user):
    inbound = InboundMessageFactory(state=InboundMessage.State.FAILED)
    services.inbound_discard(inbound=inbound, actor=abuse_user, reason="spam test")
    outcome = services.inbound_reprocess(inbound=inbound)
    assert outcome.state == InboundMessage.State.DISCARDED


def test_requeue_puts_a_failed_message_back_on_the_queue(ingest_queue, committed):
    inbound = _stored(arf_report(), InboundMessage.State.FAILED)
    assert committed(services.inbound_requeue, inbound=inbound)
    inbound.refresh_from_db()
    assert (inbound.state, inbound.error) == ("pending", "")
    assert ingest_queue.count == 1
    assert not committed(services.inbound_requeue, inbound=inbound)
    assert ingest_queue.count == 1
