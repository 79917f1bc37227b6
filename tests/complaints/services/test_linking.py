"""Attribution and grouping of real-looking reports, one test per cause of issue 9,
stored through the ingest service and processed by a real RQ worker on the real
Redis and PostgreSQL."""

import random
from datetime import UTC, datetime, timedelta

import pytest

from accounts.models import Action, Subscriber
from complaints.ingest.report import Hop, OriginalMessage
from complaints.models import Complaint, InboundMessage, Mailing, MailingKey, Strike
from complaints.services.ingest import inbound_store
from complaints.services.linking import LinkIndex
from tests.accounts.factories import (
    IPAssignmentFactory,
    MailAccountFactory,
    SubscriberFactory,
)

pytestmark = pytest.mark.django_db

RELAY = "smtp.isp.example"
T0 = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _isp(settings):
    settings.ABUSE_RELAY_HOSTS = [RELAY, "192.0.2.25"]
    settings.ABUSE_MX_HOSTS = ["mx.isp.example"]
    settings.ABUSE_ISP_DOMAINS = ["isp.example"]
    settings.ABUSE_AUTO_STRIKE = True


@pytest.fixture
def ingest(committed, run_jobs, ingest_queue):
    def run(*raws: bytes) -> None:
        for raw in raws:
            committed(inbound_store, raw=raw, channel="pipe")
        run_jobs()

    return run


def _date(at: datetime) -> str:
    return at.strftime("%a, %d %b %Y %H:%M:%S +0000")


def _relayed(
    *, login, client_ip, subject, at, from_, n, trace=None, to="v@example.org"
):
    trace_line = f"X-Abuse-Trace: {trace}\r\n" if trace else ""
    return (
        f"Received: from {RELAY} ({RELAY} [192.0.2.25])\r\n"
        f"\tby mx.example.org with ESMTPS id MX{n:06d} for <{to}>; {_date(at)}\r\n"
        f"Received: from pc (unknown [{client_ip}])\r\n"
        f"\t(Authenticated sender: {login})\r\n"
        f"\tby {RELAY} (Postfix) with ESMTPSA id 4Q{n:07X}; {_date(at)}\r\n"
        f"{trace_line}From: {from_}\r\nTo: {to}\r\nSubject: {subject}\r\n"
        f"Date: {_date(at)}\r\nMessage-ID: <m{n}.{random.random()}@sender.example>\r\n"
    )


def _direct(*, client_ip, subject, at, from_, n, date=None, to="v@example.org"):
    """Straight from a client to the recipient's MX (an infected PC)."""
    return (
        f"Received: from pc{n} ([{client_ip}])\r\n"
        f"\tby mx.example.org with SMTP id MX{n:06d} for <{to}>; {_date(at)}\r\n"
        f"From: {from_}\r\nTo: {to}\r\nSubject: {subject}\r\n"
        f"Date: {date or _date(at)}\r\nMessage-ID: <d{n}.{random.random()}@pc.example>\r\n"
    )


def _arf(
    headers: str, *, n: int, recipient="victim@example.org", reporter="fbl@fbl.example"
) -> bytes:
    return (
        f"From: <{reporter}>\r\nTo: abuse@isp.example\r\nSubject: Abuse report {n}\r\n"
        f"Date: {_date(T0 + timedelta(hours=1))}\r\nMessage-ID: <r{n}.{random.random()}@fbl.example>\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=feedback-report; boundary="b"\r\n'
        "\r\n--b\r\nContent-Type: text/plain\r\n\r\nAn abuse report.\r\n"
        "\r\n--b\r\nContent-Type: message/feedback-report\r\n\r\n"
        "Feedback-Type: abuse\r\nUser-Agent: FBL/1\r\nVersion: 1\r\n"
        f"Original-Rcpt-To: <{recipient}>\r\n"
        "\r\n--b\r\nContent-Type: message/rfc822\r\n\r\n"
        f"{headers}\r\nbody\r\n\r\n--b--\r\n"
    ).encode()


@pytest.fixture
def shop():
    subscriber = SubscriberFactory(account_number="A1")
    MailAccountFactory(subscriber=subscriber, login="shop", address="shop@isp.example")
    IPAssignmentFactory(
        subscriber=subscriber,
        network="198.51.100.7",
        valid_from=T0 - timedelta(days=60),
    )
    return subscriber


def _newsletter_variants(count: int) -> list[bytes]:
    subjects = [
        "Spring Sale",
        "Re: Spring Sale [#48213]",
        "AW: Spring Sale No. 4711",
        "Anna, Spring Sale",
        "Hi Bob, Spring Sale!",
        "WG: Spring Sale Ref: AB-1234",
        "=?utf-8?B?U3ByaW5nIFNhbGU=?= Order 998877",
        "=?iso-8859-1?Q?Spring_Sale?= (12345)",
        "TR: RV: SV: Antw: Fwd: Spring Sale",
    ]
    return [
        _arf(
            _relayed(
                login="shop",
                client_ip="198.51.100.7",
                subject=subjects[n % len(subjects)],
                at=T0 + timedelta(hours=n),
                from_="Shop <news@shop.example>",
                n=n,
            ),
            n=n,
            recipient=f"r{n}@example.org",
        )
        for n in range(count)
    ]


def test_subject_variation_cause_1_copies_of_one_newsletter_are_one_mailing(
    shop, ingest
):
    ingest(*_newsletter_variants(9))
    assert Mailing.objects.filter(subscriber=shop).count() == 1
    mailing = Mailing.objects.get()
    assert mailing.complaint_count == 9
    assert Strike.objects.filter(subscriber=shop).count() == 1


def test_same_reports_in_two_orders_give_the_same_mailings(shop, ingest, run_jobs):
    reports = _newsletter_variants(6) + [
        _arf(
            _relayed(
                login="shop",
                client_ip="198.51.100.7",
                subject=f"Winter boots{' ' + s if s else ''}",
                at=T0 + timedelta(hours=3 + i),
                from_="Shop <news@shop.example>",
                n=100 + i,
            ),
            n=100 + i,
        )
        for i, s in enumerate(["", "No. 5", "[#77]"])
    ]

    def grouping() -> set[frozenset[str]]:
        groups: dict[int, set[str]] = {}
        for mailing_id, sha in Complaint.objects.values_list(
            "mailing_id", "inbound__sha256"
        ):
            groups.setdefault(mailing_id, set()).add(sha)
        return {frozenset(g) for g in groups.values()}

    ingest(*reports)
    first = grouping()
    # Start again from nothing and feed the same bytes the other way round.
    for model in (Action, Complaint, MailingKey, Strike, Mailing, InboundMessage):
        model.objects.all().delete()
    Subscriber.objects.filter(pk=shop.pk).update(status=Subscriber.Status.ACTIVE)
    ingest(*reversed(reports))
    assert grouping() == first
    assert len(first) == 2


def test_outbreak_cause_2_random_subjects_from_an_infected_pc_are_one_compromised_incident(
    shop, ingest
):
    subjects = [
        "Cheap meds",
        "Crypto profits",
        "Meet singles",
        "Your parcel",
        "Invoice overdue",
    ]
    ingest(
        *[
            _arf(
                _direct(
                    client_ip="198.51.100.7",
                    subject=subject,
                    at=T0 + timedelta(minutes=20 * n),
                    from_=f"random{n}@forged{n}.example",
                    n=n,
                ),
                n=n,
            )
            for n, subject in enumerate(subjects)
        ]
    )
    mailing = Mailing.objects.get(subscriber=shop)
    assert mailing.kind == Mailing.Kind.OUTBREAK
    assert mailing.is_likely_compromised
    assert mailing.state == Mailing.State.COMPROMISED
    shop.refresh_from_db()
    assert shop.status == Subscriber.Status.RESTRICTED
    assert not Strike.objects.filter(subscriber=shop, revoked_at__isnull=True).exists()


def test_opaque_trace_token_cause_3_links_reports_that_carry_nothing_else(shop, ingest):
    token = "a41f0c9e77d2b6f1e0c3"
    first = _relayed(
        login="shop",
        client_ip="198.51.100.7",
        subject="Deals",
        at=T0,
        from_="news@shop.example",
        n=1,
        trace=token,
    )
    # A second report of the same mailing: only the token ties it to the shop.
    bare = (
        "Received: from unknown (unknown [203.0.113.200])\r\n"
        f"\tby mx.other.example with ESMTP id Z1; {_date(T0)}\r\n"
        f"X-Abuse-Trace: {token}\r\nFrom: someone@elsewhere.example\r\n"
        f"Subject: totally different\r\nDate: {_date(T0)}\r\nMessage-ID: <bare@x>\r\n"
    )
    ingest(_arf(first, n=1))
    ingest(_arf(bare, n=2))
    complaints = list(Complaint.objects.order_by("pk"))
    assert [c.subscriber_id for c in complaints] == [shop.pk, shop.pk]
    assert complaints[0].mailing_id == complaints[1].mailing_id


def test_forgery_cause_4_a_joe_job_belongs_to_nobody_and_strikes_no_one(shop, ingest):
    forged = _direct(
        client_ip="45.9.8.7", subject="Viagra", at=T0, from_="shop@isp.example", n=7
    )
    ingest(_arf(forged, n=7))
    complaint = Complaint.objects.get()
    assert complaint.is_forged and complaint.subscriber_id is None
    assert "45.9.8.7" in complaint.forged_reason
    assert not Strike.objects.exists()
    shop.refresh_from_db()
    assert shop.status == Subscriber.Status.ACTIVE


def test_trust_order_cause_5_the_client_address_beats_a_forged_from(shop, ingest):
    other = SubscriberFactory(account_number="B2")
    MailAccountFactory(subscriber=other, login="bob", address="bob@isp.example")
    spam = _direct(
        client_ip="198.51.100.7", subject="Spam", at=T0, from_="bob@isp.example", n=8
    )
    ingest(_arf(spam, n=8))
    complaint = Complaint.objects.get()
    assert complaint.subscriber_id == shop.pk
    assert complaint.attribution["decided_by"]["clue"] == "client address"
    assert complaint.attribution["disagreeing"][0]["subscriber"] == other.pk


def test_clock_cause_6_the_receiving_servers_stamp_decides_who_held_the_address(ingest):
    early = SubscriberFactory(account_number="E1")
    late = SubscriberFactory(account_number="L1")
    IPAssignmentFactory(
        subscriber=early,
        network="198.51.100.50",
        valid_from=T0 - timedelta(days=30),
        valid_to=T0,
    )
    IPAssignmentFactory(subscriber=late, network="198.51.100.50", valid_from=T0)
    spam = _direct(
        client_ip="198.51.100.50",
        subject="Spam",
        at=T0 + timedelta(hours=3),
        from_="x@y.example",
        n=9,
        date=_date(T0 - timedelta(hours=6)),
    )
    ingest(_arf(spam, n=9))
    assert Complaint.objects.get().subscriber_id == late.pk


def test_clock_cause_6_a_gmail_forward_date_line_is_read():
    from complaints.ingest import classify

    raw = (
        b"From: person@example.net\r\nTo: abuse@isp.example\r\nSubject: Fwd: spam\r\n"
        b"Date: Tue, 8 Sep 2026 09:00:00 +0000\r\nMessage-ID: <fw@example.net>\r\n\r\n"
        b"Please stop this spam.\r\n\r\n---------- Forwarded message ---------\r\n"
        b"From: Shop <news@shop.example>\r\nDate: Fri, Sep 4, 2026 at 1:53 PM\r\n"
        b"Subject: Spring Sale\r\nTo: <person@example.net>\r\n\r\nBuy!\r\n"
    )
    from complaints.services.linking import report_time

    report = classify(raw)
    assert report_time(report, fallback=T0) == datetime(2026, 9, 4, 13, 53, tzinfo=UTC)


def test_ipv6_cause_7_a_documentation_prefix_client_is_attributed(ingest):
    owner = SubscriberFactory(account_number="V6")
    IPAssignmentFactory(
        subscriber=owner, network="2001:db8:42::/48", valid_from=T0 - timedelta(days=9)
    )
    spam = _direct(
        client_ip="2001:db8:42::17", subject="Spam", at=T0, from_="a@b.example", n=10
    )
    ingest(_arf(spam.replace("([2001", "([IPv6:2001"), n=10))
    assert Complaint.objects.get().subscriber_id == owner.pk


def test_broken_folding_cause_8_pasted_headers_keep_their_login(shop, ingest):
    pasted = (
        f"Received: from pc (unknown [203.0.113.99])\r\n(Authenticated sender: shop)\r\n"
        f"by {RELAY} (Postfix) with ESMTPSA id 4QAA1; {_date(T0)}\r\n"
        "From: news@shop.example\r\nSubject: Spring Sale\r\n"
        f"Date: {_date(T0)}\r\nMessage-ID: <pasted@shop.example>\r\n"
    )
    raw = (
        "From: angry@example.net\r\nTo: abuse@isp.example\r\nSubject: spam complaint\r\n"
        f"Date: {_date(T0)}\r\nMessage-ID: <angry@example.net>\r\n\r\n"
        f"I keep getting this spam, headers below:\r\n\r\n{pasted}\r\n"
    ).encode()
    ingest(raw)
    complaint = Complaint.objects.get()
    assert complaint.subscriber_id == shop.pk
    assert complaint.login == "shop"


def test_false_duplicates_cause_9_two_recipients_count_twice_a_resend_once(
    shop, ingest
):
    def report(n: int, to: str, resend_of: str | None = None) -> bytes:
        headers = _relayed(
            login="shop",
            client_ip="198.51.100.7",
            subject="Deals",
            at=T0,
            from_="news@shop.example",
            n=0,
            to=to,
        )
        return _arf(
            headers.replace(headers.split("Message-ID: ")[1], "<one@shop>\r\n"),
            n=n,
            recipient="redacted",
        )

    ingest(report(1, "a@example.org"), report(2, "b@example.org"))
    resend = report(3, "a@example.org")
    ingest(resend)
    states = sorted(Complaint.objects.values_list("state", flat=True))
    assert states == ["duplicate", "linked", "linked"]
    assert Mailing.objects.get().complaint_count == 2


def _reply_to_spam(sender: str, subject: str, n: int) -> bytes:
    """A person replying to the spam itself: only its From line and subject."""
    return (
        f"From: person{n}@example.net\r\nTo: abuse@isp.example\r\n"
        f"Subject: AW: {subject}\r\nDate: {_date(T0 + timedelta(hours=2))}\r\n"
        f"Message-ID: <reply{n}@example.net>\r\n\r\nSchon wieder Werbung, das ist Spam!\r\n\r\n"
        f"Am 26.11.2026 um 10:00 schrieb Shop <{sender}>:\r\n\r\n> {subject}\r\n"
    ).encode()


def test_a_bare_sender_address_confirms_a_checked_campaign_but_founds_nothing(
    shop, ingest
):
    ingest(*_newsletter_variants(2))
    ingest(_reply_to_spam("shop@isp.example", "Spring Sale", 1))
    ingest(_reply_to_spam("shop@isp.example", "Cheap watches", 2))
    confirmed, unconfirmed = Complaint.objects.filter(
        complainant_email__startswith="person"
    ).order_by("complainant_email")
    assert confirmed.mailing.subscriber_id == shop.pk
    assert confirmed.mailing.complaint_count == 3
    assert unconfirmed.subscriber_id is None and unconfirmed.mailing_id is None
    assert "proves nothing" in unconfirmed.link_note


def test_a_trace_token_the_desk_signed_names_its_subscriber(shop, ingest):
    from abusedesk import tracetoken
    from complaints.services.linking import trace_key

    token = tracetoken.sign(
        tracetoken.TracePayload(
            relay_host=RELAY,
            queue_id="4QAB12CD",
            issued_at=int(T0.timestamp()),
            subscriber_id=shop.pk,
            login="shop",
        ),
        key=trace_key(),
    )
    bare = (
        "Received: from unknown (unknown [203.0.113.200])\r\n"
        f"\tby mx.other.example with ESMTP id Z1; {_date(T0)}\r\n"
        f"X-Abuse-Trace: {token}\r\nFrom: someone@elsewhere.example\r\n"
        f"Subject: Deals\r\nDate: {_date(T0)}\r\nMessage-ID: <signed@x>\r\n"
    )
    ingest(_arf(bare, n=31))
    complaint = Complaint.objects.get()
    assert complaint.subscriber_id == shop.pk
    assert complaint.attribution["decided_by"]["clue"] == "trace token"


def test_a_client_time_outside_the_batchs_span_is_looked_up_on_its_own():
    """The batch's IP assignments are read once for the span of its clocks; a
    Received stamp outside it still gets the holder of that moment."""
    before, after = SubscriberFactory(), SubscriberFactory()
    IPAssignmentFactory(
        subscriber=before,
        network="192.0.2.50",
        valid_from=T0 - timedelta(days=400),
        valid_to=T0 - timedelta(days=100),
    )
    IPAssignmentFactory(
        subscriber=after, network="192.0.2.50", valid_from=T0 - timedelta(days=100)
    )
    original = OriginalMessage(hops=(Hop(from_ip="192.0.2.50", by_host="mx.example"),))
    index = LinkIndex.load([original], times=[T0])
    assert index.ip_span == (T0, T0)
    assert index.resolve_ip("192.0.2.50", T0) == after.pk
    assert index.resolve_ip("192.0.2.50", T0 - timedelta(days=200)) == before.pk
