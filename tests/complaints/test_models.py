"""Invariants of the complaint tables, held by the database itself."""

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from complaints.models import Complaint, MailingKey, Strike
from tests.complaints.factories import (
    BounceFactory,
    ComplaintFactory,
    InboundMessageFactory,
    MailingFactory,
    StrikeFactory,
)

pytestmark = pytest.mark.django_db


def test_second_strike_on_one_mailing_is_refused():
    strike = StrikeFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        Strike.objects.create(
            mailing=strike.mailing,
            subscriber=strike.subscriber,
            reason=Strike.Reason.COMPLAINTS,
            issued_at=timezone.now(),
        )


def test_revoked_strike_still_blocks_a_new_one_on_its_mailing():
    strike = StrikeFactory(revoked_at=timezone.now(), revoke_reason="Appeal upheld")
    with pytest.raises(IntegrityError), transaction.atomic():
        StrikeFactory(mailing=strike.mailing)


def test_revocation_without_a_reason_is_refused():
    with pytest.raises(IntegrityError), transaction.atomic():
        StrikeFactory(revoked_at=timezone.now(), revoke_reason="")


def test_duplicate_sha256_is_refused():
    first = InboundMessageFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        InboundMessageFactory(raw=bytes(first.raw))


def test_one_complaint_per_inbound_message():
    inbound = InboundMessageFactory()
    ComplaintFactory(inbound=inbound)
    with pytest.raises(IntegrityError), transaction.atomic():
        ComplaintFactory(inbound=inbound)


def test_duplicate_reference_is_refused():
    ComplaintFactory(reference="R1")
    with pytest.raises(IntegrityError), transaction.atomic():
        ComplaintFactory(reference="R1")


def test_linked_complaint_needs_a_mailing():
    with pytest.raises(IntegrityError), transaction.atomic():
        ComplaintFactory(state=Complaint.State.LINKED, mailing=None)


def test_one_bounce_per_recipient_per_message():
    bounce = BounceFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        BounceFactory(inbound=bounce.inbound, address=bounce.address)


def test_message_id_belongs_to_one_mailing():
    first, second = MailingFactory(), MailingFactory()
    MailingKey.objects.create(
        mailing=first, kind=MailingKey.Kind.MESSAGE_ID, value="<a@b>"
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        MailingKey.objects.create(
            mailing=second, kind=MailingKey.Kind.MESSAGE_ID, value="<a@b>"
        )
