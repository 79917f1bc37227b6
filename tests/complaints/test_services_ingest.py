"""The ingest services: storing, processing, linking and recording."""

import hashlib
from datetime import timedelta

import django_rq
import pytest
from django.core import mail
from django.utils import timezone

from complaints import services
from complaints.exceptions import EmptyMessageError, MessageTooLargeError
from complaints.models import Bounce, Complaint, InboundMessage, Mailing, MailingKey
from tests.accounts.factories import IPAssignmentFactory, MailAccountFactory
from tests.complaints.factories import MailingFactory
from tests.complaints.mail import AUTO_REPLY, arf_report, dsn_report, human_complaint

pytestmark = pytest.mark.django_db


@pytest.fixture
def bob(db):
    return MailAccountFactory(login="bob", address="bob@isp.example")


def _process(raw: bytes, channel: str = InboundMessage.Channel.PIPE) -> InboundMessage:
    inbound, _ = services.inbound_store(raw=raw, channel=channel, enqueue=False)
    services.inbound_process(inbound_id=inbound.pk)
    inbound.refresh_from_db()
    return inbound


def test_store_keeps_the_raw_bytes_and_their_hash():
    raw = arf_report(login="bob")
    inbound, created = services.inbound_store(raw=raw, channel="pipe", enqueue=False)
    assert created
    assert bytes(inbound.raw) == raw
    assert inbound.sha256 == hashlib.sha256(raw).hexdigest()
    assert inbound.state == InboundMessage.State.PENDING
    assert inbound.message_id.startswith("<fbl.")


def test_storing_the_same_bytes_twice_returns_the_first_row():
    raw = arf_report()
    first, _ = services.inbound_store(raw=raw, channel="pipe", enqueue=False)
    second, created = services.inbound_store(raw=raw, channel="imap", enqueue=False)
    assert not created
    assert second.pk == first.pk
    assert InboundMessage.objects.count() == 1


def test_store_refuses_empty_and_oversize_messages():
    with pytest.raises(EmptyMessageError):
        services.inbound_store(raw=b"  \r\n", channel="pipe")
    with pytest.raises(MessageTooLargeError):
        services.inbound_store(raw=b"x" * 101, channel="http", max_bytes=100)
    assert not InboundMessage.objects.exists()


def test_store_wakes_a_drainer_after_commit(
    ingest_queue, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.inbound_store(raw=arf_report(), channel="pipe")
    assert ingest_queue.count == 0, "nothing may be enqueued before the commit"
    for callback in callbacks:
        callback()
    assert [job.func_name for job in ingest_queue.jobs] == [
        "complaints.jobs.inbound_drain_job"
    ]


def test_feedback_report_becomes_a_complaint_linked_by_login(bob):
    inbound = _process(arf_report(login="bob", subject="Cheap pills"))
    assert inbound.state == InboundMessage.State.PROCESSED
    complaint = Complaint.objects.get()
    assert complaint.channel == Complaint.Channel.FEEDBACK_LOOP
    assert complaint.feedback_type == "abuse"
    assert complaint.subscriber == bob.subscriber
    assert complaint.state == Complaint.State.LINKED
    assert complaint.mailing.subject == "Cheap pills"
    assert complaint.mailing.complaint_count == 1
    assert complaint.link_note.startswith("login bob")


def test_processing_a_message_twice_changes_nothing(bob):
    inbound = _process(arf_report(login="bob"))
    assert services.inbound_process(inbound_id=inbound.pk) is None
    assert Complaint.objects.count() == 1
    assert Mailing.objects.get().complaint_count == 1


def test_complaints_about_one_subject_within_the_window_share_a_mailing(bob):
    _process(
        arf_report(login="bob", subject="Re: Cheap pills", recipient="a@example.org")
    )
    _process(
        arf_report(login="bob", subject="cheap   PILLS", recipient="b@example.org")
    )
    mailing = Mailing.objects.get()
    assert mailing.complaint_count == 2
    assert mailing.keys.filter(kind=MailingKey.Kind.MESSAGE_ID).count() == 2


def test_complaint_outside_the_window_starts_a_new_mailing(bob):
    _process(
        arf_report(login="bob", subject="Offer", date="Mon, 02 Nov 2026 10:00:00 +0000")
    )
    _process(
        arf_report(login="bob", subject="Offer", date="Thu, 26 Nov 2026 10:00:00 +0000")
    )
    assert Mailing.objects.count() == 2


def test_complaint_links_by_known_message_id():
    mailing = MailingFactory()
    MailingKey.objects.create(
        mailing=mailing, kind="message_id", value="<known@shop.example>"
    )
    _process(arf_report(message_id="<known@shop.example>", from_="x@elsewhere.example"))
    complaint = Complaint.objects.get()
    assert complaint.mailing == mailing
    assert complaint.subscriber == mailing.subscriber


def test_complaint_links_by_sender_address(bob):
    _process(arf_report(from_="Bob <BOB@isp.example>"))
    assert Complaint.objects.get().subscriber == bob.subscriber


def test_complaint_links_by_trace_header(bob):
    _process(arf_report(from_="x@elsewhere.example", trace="login=bob; queue=ABC"))
    assert Complaint.objects.get().subscriber == bob.subscriber


def test_complaint_links_by_source_ip_at_arrival_time(settings):
    # No subscriber has an address at isp.example here, so the ISP's servers must
    # be configured for the trail to be read down to the laptop's address.
    settings.ABUSE_RELAY_HOSTS = ["smtp.isp.example", "192.0.2.25"]
    settings.ABUSE_ISP_DOMAINS = ["isp.example"]
    now = timezone.now()
    holder = IPAssignmentFactory(
        network="203.0.113.0/28", valid_from=now - timedelta(days=400), valid_to=None
    ).subscriber
    IPAssignmentFactory(
        network="203.0.113.9",
        valid_from=now - timedelta(days=900),
        valid_to=now - timedelta(days=800),
    )
    _process(arf_report(from_="x@elsewhere.example", source_ip="203.0.113.9"))
    assert Complaint.objects.get().subscriber == holder


def test_unlinkable_complaint_waits_in_triage_with_the_reason():
    _process(arf_report(from_="stranger@elsewhere.example", client_ip="198.51.100.200"))
    complaint = Complaint.objects.get()
    assert complaint.state == Complaint.State.NEW
    assert complaint.subscriber is None
    assert "matched" in complaint.link_note


def test_same_person_reporting_the_same_message_twice_is_a_duplicate(bob):
    first = human_complaint(login="bob", message_id="<same@shop.example>")
    _process(first)
    _process(first.replace(b"Stop this spam now.", b"I told you already!"))
    states = sorted(Complaint.objects.values_list("state", flat=True))
    assert states == [Complaint.State.DUPLICATE, Complaint.State.LINKED]
    assert Mailing.objects.get().complaint_count == 1


def test_human_complaint_is_acknowledged_once_with_its_reference(
    bob, django_capture_on_commit_callbacks
):
    queue = django_rq.get_queue("default")
    queue.empty()
    with django_capture_on_commit_callbacks(execute=True):
        inbound = _process(human_complaint(login="bob"))
    complaint = Complaint.objects.get()
    assert complaint.channel == Complaint.Channel.EMAIL
    assert mail.outbox == [], "the acknowledgment goes out from its own job"
    (job,) = queue.jobs
    assert job.args == ([complaint.pk],)
    job.func(*job.args)
    job.func(*job.args)
    assert len(mail.outbox) == 1
    assert complaint.reference in mail.outbox[0].subject
    assert mail.outbox[0].extra_headers["Auto-Submitted"] == "auto-replied"
    assert not services.notices.complaint_acknowledge(complaint_id=complaint.pk)
    assert services.inbound_process(inbound_id=inbound.pk) is None
    assert len(mail.outbox) == 1


def test_feedback_loop_reports_are_not_acknowledged(
    bob, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        _process(arf_report(login="bob"))
    assert mail.outbox == []


def test_not_spam_report_is_ignored():
    inbound = _process(arf_report(feedback_type="not-spam"))
    assert inbound.state == InboundMessage.State.IGNORED
    assert not Complaint.objects.exists()


def test_auto_reply_never_becomes_a_complaint():
    inbound = _process(AUTO_REPLY)
    assert inbound.state == InboundMessage.State.IGNORED
    assert inbound.kind == "auto_reply"
    assert not Complaint.objects.exists()


def test_feedback_report_stamped_auto_generated_is_still_a_complaint(bob):
    raw = arf_report(login="bob").replace(
        b"MIME-Version: 1.0", b"Auto-Submitted: auto-generated\r\nMIME-Version: 1.0", 1
    )
    inbound = _process(raw)
    assert inbound.state == InboundMessage.State.PROCESSED
    assert Complaint.objects.get().subscriber == bob.subscriber


def test_automatic_human_style_complaint_is_recorded_but_not_acknowledged(
    bob, django_capture_on_commit_callbacks
):
    raw = human_complaint(login="bob").replace(
        b"MIME-Version: 1.0", b"Auto-Submitted: auto-forwarded\r\nMIME-Version: 1.0", 1
    )
    queue = django_rq.get_queue("default")
    queue.empty()
    with django_capture_on_commit_callbacks(execute=True):
        _process(raw)
    assert Complaint.objects.count() == 1
    assert queue.count == 0


def test_the_desks_own_mail_coming_back_is_never_a_complaint(bob):
    raw = human_complaint(login="bob").replace(
        b"MIME-Version: 1.0",
        b"X-Abuse-Desk-Generated: acknowledgment\r\nMIME-Version: 1.0",
        1,
    )
    inbound = _process(raw)
    assert inbound.state == InboundMessage.State.IGNORED
    assert not Complaint.objects.exists()


def test_bounce_report_records_each_failed_recipient_on_the_known_mailing():
    mailing = MailingFactory()
    MailingKey.objects.create(
        mailing=mailing, kind="message_id", value="<m1@shop.example>"
    )
    raw = dsn_report(
        original_message_id="<m1@shop.example>",
        failed=[
            ("gone@example.com", "5.1.1", "550 5.1.1 <gone@example.com>: User unknown"),
            ("full@example.com", "4.2.2", "452 4.2.2 Mailbox full"),
        ],
    )
    inbound = _process(raw)
    assert inbound.state == InboundMessage.State.PROCESSED
    hard = Bounce.objects.get(address="gone@example.com")
    assert hard.is_hard and hard.status == "5.1.1" and hard.mailing == mailing
    assert not Bounce.objects.get(address="full@example.com").is_hard
    mailing.refresh_from_db()
    assert (mailing.hard_bounce_count, mailing.soft_bounce_count) == (1, 1)
    assert services.inbound_process(inbound_id=inbound.pk) is None
    assert Bounce.objects.count() == 2


def test_cause_7_bounces_keep_the_original_address_and_count_it_once():
    mailing = MailingFactory()
    MailingKey.objects.create(
        mailing=mailing, kind="message_id", value="<m2@shop.example>"
    )
    unknown = "550 5.1.1 User unknown"
    raw = dsn_report(
        original_message_id="<m2@shop.example>",
        failed=[
            ("sales1@example.com", "5.1.1", unknown),
            ("sales2@example.com", "5.1.1", unknown),
        ],
        originals={
            "sales1@example.com": "sales@example.com",
            "sales2@example.com": "sales@example.com",
        },
    )
    _process(raw)
    rows = Bounce.objects.order_by("address")
    assert [(b.address, b.original_address) for b in rows] == [
        ("sales1@example.com", "sales@example.com"),
        ("sales2@example.com", "sales@example.com"),
    ]
    mailing.refresh_from_db()
    # One address mailed, one bogus address for the strike rule.
    assert mailing.hard_bounce_count == 1


def test_unreadable_message_is_stored_and_marked_failed_or_ignored():
    inbound = _process(b"\x00\xff garbage without headers \x80\x81")
    assert inbound.state in (InboundMessage.State.FAILED, InboundMessage.State.IGNORED)
    assert InboundMessage.objects.filter(pk=inbound.pk).exists()


def test_sweep_wakes_a_drainer_only_for_messages_pending_too_long(ingest_queue):
    recent, _ = services.inbound_store(raw=arf_report(), channel="pipe", enqueue=False)
    assert services.inbound_sweep() == 0
    assert ingest_queue.count == 0
    InboundMessage.objects.filter(pk=recent.pk).update(
        received_at=timezone.now() - timedelta(hours=1)
    )
    assert services.inbound_sweep() == 1
    assert [job.func_name for job in ingest_queue.jobs] == [
        "complaints.jobs.inbound_drain_job"
    ]


def test_sweep_sends_a_notice_whose_first_attempt_failed():
    from accounts.models import Action
    from tests.accounts.factories import ActionFactory

    action = ActionFactory(
        kind=Action.Kind.WARNING,
        notice_template="warning",
        reason="Strike 1 of 3",
        created_at=timezone.now() - timedelta(hours=1),
    )
    services.inbound_sweep()
    action.refresh_from_db()
    assert action.notified_at is not None
    assert [m.to for m in mail.outbox] == [[action.subscriber.contact_email]]
    services.inbound_sweep()
    assert len(mail.outbox) == 1


def test_sweep_queues_acknowledgments_lost_with_their_job(bob):
    inbound = _process(human_complaint(login="bob"))
    complaint = Complaint.objects.get(inbound=inbound)
    Complaint.objects.filter(pk=complaint.pk).update(
        received_at=timezone.now() - timedelta(hours=1)
    )
    queue = django_rq.get_queue("default")
    queue.empty()
    services.inbound_sweep()
    assert [job.args for job in queue.jobs] == [([complaint.pk],)]
    queue.empty()


def test_store_many_commits_new_rows_and_finds_known_ones(ingest_queue, committed):
    known, _ = services.inbound_store(raw=arf_report(), channel="pipe", enqueue=False)
    fresh = arf_report()
    stored = committed(
        services.inbound_store_many,
        raws=[fresh, bytes(known.raw), fresh],
        channel="lmtp",
    )
    new = InboundMessage.objects.get(channel="lmtp")
    assert stored == [(new.pk, True), (known.pk, False), (new.pk, False)]
    assert bytes(new.raw) == fresh
    assert new.message_id.startswith("<fbl.")
    assert [job.func_name for job in ingest_queue.jobs] == [
        "complaints.jobs.inbound_drain_job"
    ]
