"""complaints.services.recording, the duplicate rule: duplicates are decided under a lock, so two
workers recording the same report at once count it once (issue 10, defect 8)."""

import threading

import pytest
from django.db import connection, transaction
from django.utils import timezone

from complaints.models import Complaint, InboundMessage
from complaints.services import ingest as ingest_services
from tests.accounts.factories import MailAccountFactory
from tests.complaints.mail import arf_report

pytestmark = pytest.mark.django_db(transaction=True)


def _resent(report: bytes) -> bytes:
    """The same feedback report sent again under a new Message-ID."""
    outer, rest = report.split(b"Message-ID: ", 1)
    old_id, body = rest.split(b"\r\n", 1)
    return outer + b"Message-ID: <resent." + old_id.strip(b"<>") + b">\r\n" + body


def _store(raw: bytes) -> InboundMessage:
    inbound, _new = ingest_services.inbound_store(
        raw=raw, channel="pipe", enqueue=False
    )
    return inbound


def test_two_workers_recording_one_report_at_once_count_it_once():
    MailAccountFactory(login="bob", address="bob@isp.example")
    # Another recipient's report of the same message came first: the mailing
    # and its keys exist, so nothing else makes the two workers wait.
    report = arf_report(login="bob", message_id="<one@shop.example>")
    other_recipient = _resent(report).replace(
        b"Original-Rcpt-To: <victim@example.org>",
        b"Original-Rcpt-To: <other@example.org>",
    )
    earlier = _store(other_recipient)
    ingest_services.inbound_process(inbound_id=earlier.pk)
    first = _store(report)
    again = _store(_resent(_resent(report)))
    inside_first = threading.Event()
    release_first = threading.Event()
    errors = []

    def worker_one():
        try:
            with transaction.atomic():
                states = ingest_services._process_batch(
                    timezone.now(), [], inbound_ids=[first.pk]
                )
                assert states == {first.pk: InboundMessage.State.PROCESSED}
                inside_first.set()
                # Hold the transaction open, as a slow worker would.
                release_first.wait(timeout=20)
        except Exception as exc:  # noqa: BLE001 - reported to the test thread
            errors.append(exc)
        finally:
            connection.close()

    def worker_two():
        try:
            ingest_services.inbound_process(inbound_id=again.pk)
        except Exception as exc:  # noqa: BLE001 - reported to the test thread
            errors.append(exc)
        finally:
            connection.close()

    one = threading.Thread(target=worker_one)
    one.start()
    assert inside_first.wait(timeout=20)
    two = threading.Thread(target=worker_two)
    two.start()
    # The second worker waits on the first one's lock rather than reading past
    # its uncommitted complaint.
    two.join(timeout=2)
    assert two.is_alive()
    release_first.set()
    one.join(timeout=20)
    two.join(timeout=20)
    assert not errors
    states = sorted(
        Complaint.objects.exclude(inbound=earlier).values_list("state", flat=True)
    )
    assert states == [Complaint.State.DUPLICATE, Complaint.State.LINKED]
