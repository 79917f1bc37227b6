"""The policy server in front of a real Postfix (see tests/outbound/postfix.py):
refusals with their reasons, a burst held, released from the held-batches page
and delivered, and a complaint about a delivered message resolved by its token."""

import email
import smtplib
import time

import pytest
from django.urls import reverse

from accounts.models import Subscriber
from accounts.status_cache import status_cache_accounts_sync
from complaints.ingest import classify
from complaints.models import Mailing
from outbound.models import Submission
from outbound.policy.protocol import parse_networks
from outbound.services.drain import submissions_drain
from outbound.trace import trace_verify
from tests.accounts.factories import MailAccountFactory, SubscriberFactory
from tests.outbound.postfix import PrivatePostfix, require_postfix

pytestmark = [pytest.mark.django_db, pytest.mark.slow]


@pytest.fixture
def postfix_front(policy_harness, settings):
    require_postfix()
    harness = policy_harness(
        webmail_networks=parse_networks(["192.0.2.10"]),
        trace_key=_key(),
    )
    postfix = PrivatePostfix(policy_port=harness.port)
    settings.ABUSE_QUEUE_RELEASE_COMMAND = (
        f"/usr/sbin/postsuper -c {postfix.conf} -H {{queue_id}}"
    )
    settings.ABUSE_QUEUE_HEADERS_COMMAND = (
        f"/usr/sbin/postcat -c {postfix.conf} -ehq {{queue_id}}"
    )
    yield harness, postfix
    postfix.stop()


def _key() -> bytes:
    from outbound.trace import trace_key

    return trace_key()


def _send(
    postfix,
    *,
    login: str,
    addr: str = "192.0.2.7",
    recipients=("friend@example.org",),
    subject="Hello",
):
    """One message in one SMTP session, the login set by XCLIENT as a
    submission server's SASL login would be."""
    with smtplib.SMTP("127.0.0.1", postfix.port, timeout=30) as smtp:
        smtp.ehlo()
        code, _ = smtp.docmd("XCLIENT", f"LOGIN={login} ADDR={addr}")
        assert code == 220
        smtp.ehlo()
        body = f"From: {login}@isp.example\r\nTo: friend@example.org\r\nSubject: {subject}\r\n\r\nHi\r\n"
        smtp.sendmail(f"{login}@isp.example", list(recipients), body.encode())


def test_postfix_refuses_holds_releases_and_traces(
    postfix_front, abuse_client, django_capture_on_commit_callbacks, run_jobs
):
    harness, postfix = postfix_front
    bob = MailAccountFactory(login="bob", address="bob@isp.example").subscriber
    mallory = MailAccountFactory(
        login="mallory",
        subscriber=SubscriberFactory(status=Subscriber.Status.SUSPENDED),
    ).subscriber
    MailAccountFactory(login="carol", is_webmail=True)
    status_cache_accounts_sync(
        subscriber_ids=Subscriber.objects.values_list("pk", flat=True)
    )

    with pytest.raises(smtplib.SMTPDataError) as refused:
        _send(postfix, login="mallory")
    assert refused.value.smtp_code == 554
    assert refused.value.smtp_error.startswith(b"5.7.1 ")
    assert b"Sending from this account is suspended" in refused.value.smtp_error

    with pytest.raises(smtplib.SMTPDataError) as capped:
        _send(
            postfix,
            login="carol",
            addr="192.0.2.10",
            recipients=[f"r{n}@example.org" for n in range(31)],
        )
    assert (
        b"5.5.3" in capped.value.smtp_error
        and b"groups of 30" in capped.value.smtp_error
    )

    # The conftest limits: more than 5 messages in the window is a burst.
    for n in range(7):
        _send(postfix, login="bob", subject=f"Newsletter part {n}")
    delivered = postfix.sink.wait_for(5)
    assert len(delivered) == 5
    deadline = time.monotonic() + 20
    while (
        len([q for q in postfix.queue() if q["queue_name"] == "hold"]) < 2
        and time.monotonic() < deadline
    ):
        time.sleep(0.2)
    held_ids = {q["queue_id"] for q in postfix.queue() if q["queue_name"] == "hold"}
    assert len(held_ids) == 2

    harness.flush()
    submissions_drain()
    batch = Mailing.objects.get(source=Mailing.Source.HOLD, state=Mailing.State.HELD)
    assert batch.subscriber == bob
    assert set(batch.submissions.values_list("queue_id", flat=True)) == held_ids
    assert Submission.objects.filter(
        subscriber=mallory, action="reject", rule="status"
    ).exists()

    page = abuse_client.get(reverse("outbound:held_list"))
    assert f"#{batch.pk}".encode() in page.content
    with django_capture_on_commit_callbacks(execute=True):
        abuse_client.post(reverse("outbound:held_decide", args=[batch.pk, "headers"]))
    run_jobs("default")
    batch.refresh_from_db()
    assert batch.held_recipients == ["friend@example.org"]
    assert batch.subject.startswith("Newsletter part")

    with django_capture_on_commit_callbacks(execute=True):
        response = abuse_client.post(
            reverse("outbound:held_decide", args=[batch.pk, "release"]),
            {"confirm": "on"},
        )
    assert response.status_code == 302
    run_jobs("default")
    assert len(postfix.sink.wait_for(7)) == 7, postfix.log()[-2000:]
    batch.refresh_from_db()
    assert batch.state == Mailing.State.RELEASED
    notes = list(
        batch.subscriber.actions.filter(mailing=batch).values_list("reason", flat=True)
    )
    assert sum("release done" in n for n in notes) == 2

    # A recipient complains about one of the delivered messages: its prepended
    # token names the submission, and so the subscriber.
    message = email.message_from_bytes(delivered[0])
    token = message["X-Abuse-Trace"]
    report = classify(_arf(delivered[0]), trace_header="X-Abuse-Trace")
    assert report.original.trace == token
    payload = trace_verify(report.original.trace)
    submission = Submission.objects.get(trace_token=token)
    assert (payload.subscriber_id, submission.subscriber, submission.queue_id) == (
        bob.pk,
        bob,
        payload.queue_id,
    )


def _arf(delivered: bytes) -> bytes:
    return (
        b"From: fbl@mailbox-provider.example\r\nTo: abuse@isp.example\r\n"
        b"Subject: complaint\r\nMessage-ID: <fbl.1@mailbox-provider.example>\r\n"
        b"MIME-Version: 1.0\r\n"
        b'Content-Type: multipart/report; report-type=feedback-report; boundary="b1"\r\n'
        b"\r\n--b1\r\nContent-Type: text/plain\r\n\r\nAbuse report\r\n"
        b"\r\n--b1\r\nContent-Type: message/feedback-report\r\n\r\n"
        b"Feedback-Type: abuse\r\nUser-Agent: FBL/1.0\r\nVersion: 1\r\n"
        b"\r\n--b1\r\nContent-Type: message/rfc822\r\n\r\n"
        + delivered.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
        + b"\r\n--b1--\r\n"
    )
