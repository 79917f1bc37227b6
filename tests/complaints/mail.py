"""Builders for the reports the ingest tests feed in, written from RFC 5965 (ARF)
and RFC 3464 (DSN). Each returns the raw bytes a mail system would hand over."""

import itertools

_counter = itertools.count(1)


def reported_message(
    *,
    subject: str = "Huge savings this week only",
    from_: str = "Shop News <news@shop.example>",
    to: str = "victim@example.org",
    message_id: str | None = None,
    login: str | None = None,
    client_ip: str = "203.0.113.9",
    date: str = "Thu, 26 Nov 2026 10:00:00 +0000",
    trace: str | None = None,
) -> str:
    """The headers of a message one of the ISP's subscribers sent."""
    n = next(_counter)
    message_id = message_id or f"<bulk.{n}@shop.example>"
    auth = f"\r\n\t(Authenticated sender: {login})" if login else ""
    trace_line = f"X-Abuse-Trace: {trace}\r\n" if trace else ""
    return (
        "Received: from mx.isp.example (mx.isp.example [192.0.2.25])\r\n"
        f"\tby mx.example.org with ESMTPS id A{n:05d}; {date}\r\n"
        f"Received: from laptop (unknown [{client_ip}]){auth}\r\n"
        f"\tby smtp.isp.example (Postfix) with ESMTPSA id 4Q{n:06d}Z; {date}\r\n"
        f"{trace_line}"
        f"From: {from_}\r\n"
        f"To: {to}\r\n"
        f"Subject: {subject}\r\n"
        f"Date: {date}\r\n"
        f"Message-ID: {message_id}\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=us-ascii\r\n"
    )


def arf_report(
    *,
    feedback_type: str = "abuse",
    reporter: str = "fbl@mailbox-provider.example",
    source_ip: str | None = None,
    recipient: str = "victim@example.org",
    **original,
) -> bytes:
    """An RFC 5965 feedback report about a reported message."""
    n = next(_counter)
    headers = reported_message(to=recipient, **original)
    source = f"Source-IP: {source_ip}\r\n" if source_ip else ""
    return (
        f"From: Feedback Loop <{reporter}>\r\n"
        "To: abuse@isp.example\r\n"
        f"Subject: FW: complaint {n}\r\n"
        "Date: Thu, 26 Nov 2026 12:00:00 +0000\r\n"
        f"Message-ID: <fbl.{n}@mailbox-provider.example>\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=feedback-report; boundary="b1"\r\n'
        "\r\n--b1\r\n"
        "Content-Type: text/plain; charset=us-ascii\r\n\r\n"
        "This is an email abuse report for an email message received from your network.\r\n"
        "\r\n--b1\r\n"
        "Content-Type: message/feedback-report\r\n\r\n"
        f"Feedback-Type: {feedback_type}\r\n"
        "User-Agent: ExampleFBL/1.0\r\n"
        "Version: 1\r\n"
        f"Original-Rcpt-To: <{recipient}>\r\n"
        "Arrival-Date: Thu, 26 Nov 2026 10:00:05 +0000\r\n"
        f"{source}"
        "\r\n--b1\r\n"
        "Content-Type: message/rfc822\r\n\r\n"
        f"{headers}\r\nBuy now!\r\n"
        "\r\n--b1--\r\n"
    ).encode()


def human_complaint(*, reporter: str = "angry.person@example.net", **original) -> bytes:
    """A person forwarding the spam they received as an attachment."""
    n = next(_counter)
    headers = reported_message(**original)
    return (
        f"From: {reporter}\r\n"
        "To: abuse@isp.example\r\n"
        "Subject: SPAM from your customer!!!\r\n"
        "Date: Thu, 26 Nov 2026 12:30:00 +0000\r\n"
        f"Message-ID: <human.{n}@example.net>\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/mixed; boundary="h1"\r\n'
        "\r\n--h1\r\n"
        "Content-Type: text/plain; charset=us-ascii\r\n\r\n"
        "Stop this spam now. The message is attached.\r\n"
        "\r\n--h1\r\n"
        "Content-Type: message/rfc822\r\n\r\n"
        f"{headers}\r\nBuy now!\r\n"
        "\r\n--h1--\r\n"
    ).encode()


def dsn_report(
    *,
    failed: list[tuple[str, str, str]],
    original_message_id: str,
    subject: str = "Huge savings",
    originals: dict[str, str] | None = None,
) -> bytes:
    """An RFC 3464 delivery status notification; ``failed`` holds
    (address, status, diagnostic) per recipient, ``originals`` the
    Original-Recipient of some final addresses."""
    n = next(_counter)
    originals = originals or {}
    per_recipient = "".join(
        (
            f"\r\nOriginal-Recipient: rfc822; {originals[address]}"
            if address in originals
            else ""
        )
        + f"\r\nFinal-Recipient: rfc822; {address}\r\n"
        "Action: failed\r\n"
        f"Status: {status}\r\n"
        f"Diagnostic-Code: smtp; {diagnostic}\r\n"
        for address, status, diagnostic in failed
    )
    return (
        "From: MAILER-DAEMON@mx.example.com (Mail Delivery System)\r\n"
        "To: news@shop.example\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\n"
        "Date: Thu, 26 Nov 2026 10:05:00 +0000\r\n"
        f"Message-ID: <dsn.{n}@mx.example.com>\r\n"
        "Auto-Submitted: auto-replied\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="d1"\r\n'
        "\r\n--d1\r\n"
        "Content-Type: text/plain\r\n\r\n"
        "I'm sorry to have to inform you that your message could not be delivered.\r\n"
        "\r\n--d1\r\n"
        "Content-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.example.com\r\n"
        "X-Postfix-Queue-ID: 9F00A1234\r\n"
        f"{per_recipient}"
        "\r\n--d1\r\n"
        "Content-Type: text/rfc822-headers\r\n\r\n"
        "From: Shop News <news@shop.example>\r\n"
        f"Subject: {subject}\r\n"
        f"Message-ID: {original_message_id}\r\n"
        "Date: Thu, 26 Nov 2026 10:00:00 +0000\r\n"
        "\r\n--d1--\r\n"
    ).encode()


AUTO_REPLY = (
    b"From: someone@example.org\r\nTo: news@shop.example\r\n"
    b"Subject: Out of office\r\nAuto-Submitted: auto-replied\r\n"
    b"Message-ID: <ooo.1@example.org>\r\n\r\nI am away until Monday.\r\n"
)
