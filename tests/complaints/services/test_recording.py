"""Recording complaints: the acknowledgment rule decided once and stored, and
the complainant's own words kept from the web form."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from complaints import services
from complaints.models import Complaint, InboundMessage
from complaints.services import notices
from complaints.services.recording import (
    _REFERENCE_ALPHABET,
    needs_acknowledgment,
    reference_new,
)
from tests.complaints.factories import ComplaintFactory
from tests.complaints.mail import arf_report, human_complaint


@pytest.mark.parametrize(
    ("channel", "email", "auto", "expected"),
    [
        ("email", "ann@example.org", False, True),
        ("web_form", "ann@example.org", False, True),
        ("email", "ann@example.org", True, False),
        ("feedback_loop", "fbl@example.net", False, False),
        ("email", "", False, False),
    ],
)
def test_who_gets_an_acknowledgment(channel, email, auto, expected):
    decided = needs_acknowledgment(
        channel=channel, complainant_email=email, is_auto_submitted=auto
    )
    assert decided is expected


def _recorded(raw: bytes, channel: str = "pipe") -> Complaint:
    inbound, _ = services.inbound_store(raw=raw, channel=channel, enqueue=False)
    services.inbound_process(inbound_id=inbound.pk)
    return Complaint.objects.get(inbound=inbound)


@pytest.mark.django_db
def test_the_decision_is_stored_on_the_complaint():
    assert _recorded(human_complaint()).needs_acknowledgment
    assert not _recorded(arf_report(login="bob")).needs_acknowledgment


@pytest.mark.django_db
def test_the_sweep_owes_acknowledgments_only_where_recording_decided_so():
    old = timezone.now() - timedelta(hours=1)
    owed = ComplaintFactory(received_at=old, needs_acknowledgment=True)
    ComplaintFactory(received_at=old, needs_acknowledgment=False)
    late = notices.complaints_unacknowledged(
        now=timezone.now(), older_than=timedelta(minutes=10), within=timedelta(days=2)
    )
    assert late == [owed.pk]


@pytest.mark.django_db
def test_web_form_reports_keep_the_complainants_words(client):
    from django.core.cache import caches

    from tests.complaints.mail import reported_message

    caches["default"].clear()
    client.post(
        "/report/",
        {
            "email": "jo@example.org",
            "what_happened": "Three copies this week, I never signed up.",
            "headers": reported_message(login="bob", subject="Cheap pills"),
            "website": "",
        },
    )
    inbound = InboundMessage.objects.get(channel="web_form")
    services.inbound_process(inbound_id=inbound.pk)
    complaint = Complaint.objects.get(inbound=inbound)
    assert complaint.complainant_text == "Three copies this week, I never signed up."


def test_references_are_readable_and_use_the_whole_alphabet():
    """Read out on the phone: C-XXXX-XXXX from the 32 unambiguous characters,
    every one of them in use (one random byte picks one of 32)."""
    references = [reference_new() for _ in range(400)]
    assert all(re.fullmatch(r"C-[A-Z2-9]{4}-[A-Z2-9]{4}", r) for r in references)
    used = {ch for r in references for ch in r[2:6] + r[7:]}
    assert len(_REFERENCE_ALPHABET) == 32
    assert used == set(_REFERENCE_ALPHABET)
    assert not used & set("IO01")
