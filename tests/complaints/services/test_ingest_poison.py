"""One poisoned message (a NUL byte, data PostgreSQL refuses) can neither wedge a
channel nor hold the other messages of its batch hostage."""

import io
import mailbox

import pytest
from django.core.management import call_command
from django.db import OperationalError

from complaints import services
from complaints.models import Bounce, Complaint, InboundMessage
from complaints.services import ingest as ingest_services
from complaints.services import linking, recording
from tests.accounts.factories import MailAccountFactory
from tests.complaints.factories import MailingFactory
from tests.complaints.mail import arf_report, dsn_report, human_complaint

pytestmark = pytest.mark.django_db

NUL_MESSAGE_ID = (
    b"From: a@example.net\r\nMessage-ID: <nul\x00id@example.net>\r\n\r\nhi\r\n"
)


@pytest.fixture
def bob(db):
    return MailAccountFactory(login="bob", address="bob@isp.example")


def _store(raw: bytes) -> InboundMessage:
    return services.inbound_store(raw=raw, channel="pipe", enqueue=False)[0]


def _states(*inbounds: InboundMessage) -> list[str]:
    for inbound in inbounds:
        inbound.refresh_from_db()
    return [inbound.state for inbound in inbounds]


def test_store_accepts_a_nul_in_the_message_id_and_drops_the_nul():
    inbound = _store(NUL_MESSAGE_ID)
    assert inbound.message_id == "<nulid@example.net>"
    assert bytes(inbound.raw) == NUL_MESSAGE_ID


def test_http_ingest_answers_202_to_a_nul_in_the_message_id(client, ingest_queue):
    from complaints.services.tokens import ingest_token_create

    _row, token = ingest_token_create(name="mx")
    response = client.post(
        "/ingest/",
        data=NUL_MESSAGE_ID,
        content_type="message/rfc822",
        headers={"authorization": f"Bearer {token}"},
    )
    assert response.status_code == 202
    assert InboundMessage.objects.get().message_id == "<nulid@example.net>"


def test_import_mail_stores_every_message_of_an_mbox_with_a_nul(tmp_path):
    path = tmp_path / "poison.mbox"
    box = mailbox.mbox(path)
    for raw in (arf_report(), NUL_MESSAGE_ID, human_complaint()):
        box.add(raw)
    box.flush()
    out = io.StringIO()
    call_command("import_mail", str(path), "--no-progress", stdout=out)
    assert out.getvalue().startswith("Stored 3, already there 0, failed 0.")


@pytest.mark.parametrize(
    "fields",
    [
        {"message_id": "<nul\x00@shop.example>"},
        {"subject": "Cheap\x00 pills"},
        {"from_": "Shop\x00 <news@shop.example>"},
        {"recipient": "vic\x00tim@example.org"},
        {"date": "Thu, 26 Nov 2026 10:00:00 +0000\x00"},
        {"login": "bob\x00"},
        {"feedback_type": "ab\x00use"},
    ],
    ids=lambda fields: next(iter(fields)),
)
def test_complaint_with_a_nul_in_a_field_is_recorded_without_it(bob, fields):
    inbound = _store(arf_report(**fields))
    services.inbound_process(inbound_id=inbound.pk)
    assert _states(inbound) == [InboundMessage.State.PROCESSED]
    complaint = Complaint.objects.get()
    for name in ("message_id", "subject", "header_from", "login", "feedback_type"):
        assert "\x00" not in getattr(complaint, name)


def test_user_agent_with_a_nul_is_recorded_without_it(bob):
    raw = arf_report(login="bob").replace(b"ExampleFBL/1.0", b"Example\x00FBL/1.0")
    inbound = _store(raw)
    services.inbound_process(inbound_id=inbound.pk)
    assert _states(inbound) == [InboundMessage.State.PROCESSED]
    assert Complaint.objects.get().user_agent == "ExampleFBL/1.0"


def test_bounce_with_a_nul_in_address_action_and_diagnostic_is_recorded():
    raw = dsn_report(
        failed=[("gh\x00ost@example.com", "5.1.1", "550 5.1.1 no\x00 such user")],
        original_message_id="<orig\x00@shop.example>",
    ).replace(b"Action: failed", b"Action: fail\x00ed")
    inbound = _store(raw)
    services.inbound_process(inbound_id=inbound.pk)
    assert _states(inbound) == [InboundMessage.State.PROCESSED]
    bounce = Bounce.objects.get()
    assert bounce.address == "ghost@example.com"
    assert bounce.diagnostic == "550 5.1.1 no such user"
    assert bounce.message_id == "<orig@shop.example>"


def test_batch_refused_by_the_database_is_split_and_only_the_guilty_one_fails(
    bob, monkeypatch
):
    """A field the sanitiser missed is simulated by switching it off: the database
    refuses the NUL, and the batch is retried message by message."""
    monkeypatch.setattr(ingest_services, "report_db_safe", lambda report: report)
    good = _store(arf_report(login="bob", subject="Good one"))
    poison = _store(arf_report(login="bob", subject="Bad\x00 one"))
    other = _store(human_complaint(login="bob", subject="Good two"))
    states = services.inbound_process_many(inbound_ids=[good.pk, poison.pk, other.pk])
    assert states == {
        good.pk: InboundMessage.State.PROCESSED,
        poison.pk: InboundMessage.State.FAILED,
        other.pk: InboundMessage.State.PROCESSED,
    }
    poison.refresh_from_db()
    assert poison.error.startswith("Refused by the database: ")
    assert "NUL" in poison.error
    assert sorted(Complaint.objects.values_list("subject", flat=True)) == [
        "Good one",
        "Good two",
    ]


def test_lost_connection_still_propagates_for_a_retry(bob, monkeypatch):
    def lost(items):
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(recording, "batch_link", lost)
    first, second = _store(arf_report(login="bob")), _store(arf_report(login="bob"))
    with pytest.raises(OperationalError):
        services.inbound_process_many(inbound_ids=[first.pk, second.pk])
    assert _states(first, second) == [InboundMessage.State.PENDING] * 2


def test_too_complex_message_is_marked_failed_with_the_reason(bob):
    from complaints.management.commands.bench_hostile import empty_parts

    poison = _store(empty_parts(5_000))
    good = _store(arf_report(login="bob"))
    services.inbound_process_many(inbound_ids=[poison.pk, good.pk])
    assert _states(poison, good) == [
        InboundMessage.State.FAILED,
        InboundMessage.State.PROCESSED,
    ]
    assert "too complex: 5001 MIME parts" in poison.error


@pytest.mark.parametrize(
    "date",
    [
        "Thu, 26 Nov 99999999999999999999 10:00:00 +0000",
        "Thu, 26 Nov 2026 10:00:00 +9999999999999999999999",
        "Fri, 31 Dec 9999 23:59:59 -2359",
    ],
)
def test_absurd_dates_are_unreadable_not_an_error(date):
    assert linking.parse_date(date) is None


def test_complaint_with_an_absurd_arrival_date_is_recorded(bob):
    raw = arf_report(login="bob").replace(
        b"Arrival-Date: Thu, 26 Nov 2026 10:00:05 +0000",
        b"Arrival-Date: Fri, 31 Dec 9999 23:59:59 -2359",
    )
    inbound = _store(raw)
    services.inbound_process(inbound_id=inbound.pk)
    assert _states(inbound) == [InboundMessage.State.PROCESSED]
    assert Complaint.objects.get().arrival_date is None


def test_a_nul_in_a_charset_name_leaves_the_message_readable():
    raw = (
        b"From: MAILER-DAEMON@mx.example.net\r\nTo: news@shop.example\r\n"
        b"Subject: =?utf\x00-8?q?Undelivered_Mail?=\r\n"
        b'Content-Type: text/plain; charset="utf\x00-8"\r\n\r\n'
        b"<ghost@example.com>: host mx.example.com said: 550 5.1.1 user unknown\r\n"
    )
    inbound = _store(raw)
    services.inbound_process(inbound_id=inbound.pk)
    assert _states(inbound) == [InboundMessage.State.PROCESSED]
    assert Bounce.objects.get().address == "ghost@example.com"


def test_a_dsn_cut_short_is_recorded_as_cut_and_shown_on_its_mailing(abuse_client):
    from complaints.management.commands.bench_hostile import many_recipients

    raw = many_recipients(10_000).replace(
        b"\r\n--d--",
        b"--d\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        b"From: news@isp.example\r\nSubject: Big list\r\n"
        b"Message-ID: <big.1@isp.example>\r\n\r\n--d--",
    )
    mailing = MailingFactory(subject="Big list")
    mailing.keys.create(kind="message_id", value="<big.1@isp.example>")
    inbound = _store(raw)
    services.inbound_process(inbound_id=inbound.pk)
    inbound.refresh_from_db()
    assert inbound.state == InboundMessage.State.PROCESSED
    assert inbound.is_cut
    recorded = Bounce.objects.filter(mailing=mailing).count()
    assert 0 < recorded < 10_000
    page = abuse_client.get(mailing.get_absolute_url()).content.decode()
    assert "1 bounce notice listed more recipients than the desk reads" in page


def test_a_whole_dsn_is_not_marked_cut():
    raw = dsn_report(
        failed=[("ghost@example.com", "5.1.1", "550 user unknown")],
        original_message_id="<o@shop.example>",
    )
    inbound = _store(raw)
    services.inbound_process(inbound_id=inbound.pk)
    inbound.refresh_from_db()
    assert not inbound.is_cut
