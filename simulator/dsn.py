"""Bounces as five kinds of mail system write them: Postfix and Exchange RFC 3464
reports, Gmail's, Exim's classic plain-text one and qmail's non-standard one."""

import random
from dataclasses import dataclass
from datetime import datetime

from simulator import sent
from simulator import world as w


@dataclass(frozen=True)
class Failure:
    rcpt: str
    status: str
    diagnostic: str
    hard: bool
    action: str = "failed"


def failure(rng: random.Random, rcpt: str, *, hard: bool, style: str) -> Failure:
    domain = rcpt.rsplit("@", 1)[-1]
    if hard:
        options = {
            "gmail": [("5.1.1", "smtp; 550-5.1.1 The email account that you tried to reach does not exist.")],
            "exchange": [("5.1.10", "smtp; 550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup")],
            "qmail": [("5.1.1", "Sorry, no mailbox here by that name. (#5.1.1)")],
        }.get(style, [
            ("5.1.1", f"smtp; 550 5.1.1 <{rcpt}>: Recipient address rejected: User unknown in virtual mailbox table"),
            ("5.1.1", f"smtp; 550 5.1.1 <{rcpt}>... User unknown"),
            ("5.4.4", f"X-Postfix; Host or domain name not found. Name service error for name={domain} type=A: Host not found"),
            ("5.1.2", f"smtp; 550 5.1.2 <{rcpt}>: Recipient address rejected: Domain not found"),
        ])  # fmt: skip
        status, diag = rng.choice(options)
        return Failure(rcpt, status, diag, True)
    status, diag = rng.choice(
        (
            ("5.2.2", f"smtp; 552 5.2.2 <{rcpt}>: Mailbox full (quota exceeded)"),
            ("4.4.1", f"X-Postfix; connect to mx.{domain}[203.0.113.9]:25: Connection timed out"),
            ("5.7.1", f"smtp; 554 5.7.1 Service unavailable; Client host [{w.RELAYS[0].ip}] blocked using zen.blocklist.example"),
            ("5.7.1", "smtp; 550 5.7.1 Message rejected as spam by Content Filtering."),
            ("5.2.1", f"smtp; 550 5.2.1 <{rcpt}>: mailbox is disabled"),
        )
    )  # fmt: skip
    return Failure(
        rcpt, status, diag, False, "delayed" if status.startswith("4") else "failed"
    )


def bounce(
    rng: random.Random, style: str, copy: sent.Copy, failures: list[Failure],
    at: datetime, *, to: str,
) -> str:  # fmt: skip
    """A bounce of ``copy`` for ``failures``, addressed to ``to`` and arriving at ``at``."""
    return {
        "postfix": _postfix,
        "exim": _exim,
        "exchange": _exchange,
        "gmail": _gmail,
        "qmail": _qmail,
    }[style](rng, copy, failures, at, to)


def _arrival(rng: random.Random, host: str, ip: str, at: datetime) -> str:
    mx = rng.choice(w.MX_HOSTS)
    return (
        f"Received: from {host} ({host} [{ip}])\n\tby {mx.name} (Postfix) with ESMTP id "
        f"{sent.postfix_queue_id(rng)}\n\tfor <{_to_placeholder}>; {sent.rfc_date(at, 120)}\n"
    )


_to_placeholder = "{to}"


def _postfix(rng, copy, failures, at, to) -> str:
    relay_made = copy.via in ("relay1", "webmail")
    host = w.RELAYS[0].name if relay_made else copy.provider.mx
    ip = w.RELAYS[0].ip if relay_made else "198.18.7.25"
    boundary = (
        f"{sent.token(rng, '0123456789ABCDEF', 10)}.{rng.randint(10**9, 10**10)}/{host}"
    )
    returned = copy.isp_header_text() if relay_made else copy.header_text()
    per = "".join(
        f"\nFinal-Recipient: rfc822; {f.rcpt}\nOriginal-Recipient: rfc822;{f.rcpt}\n"
        f"Action: {f.action}\nStatus: {f.status}\nRemote-MTA: dns; mx.{f.rcpt.rsplit('@', 1)[-1]}\n"
        f"Diagnostic-Code: {f.diagnostic}\n"
        for f in failures
    )
    human = "\n".join(
        f"<{f.rcpt}>: host mx.{f.rcpt.rsplit('@', 1)[-1]} said: {f.diagnostic.split('; ', 1)[-1]}"
        for f in failures
    )
    delayed = all(f.action == "delayed" for f in failures)
    subject = (
        "Delayed Mail (still being retried)"
        if delayed
        else "Undelivered Mail Returned to Sender"
    )
    return (
        _arrival(rng, host, ip, at).replace(_to_placeholder, to)
        + f"Date: {sent.rfc_date(at, 120)}\nFrom: MAILER-DAEMON@{host} (Mail Delivery System)\n"
        f"Subject: {subject}\nTo: {to}\nAuto-Submitted: auto-replied\nMIME-Version: 1.0\n"
        f'Content-Type: multipart/report; report-type=delivery-status;\n\tboundary="{boundary}"\n'
        f"Content-Transfer-Encoding: 7bit\nMessage-Id: <{sent.postfix_queue_id(rng)}@{host}>\n\n"
        f"This is a MIME-encapsulated message.\n\n--{boundary}\nContent-Description: Notification\n"
        f"Content-Type: text/plain; charset=us-ascii\n\nThis is the mail system at host {host}.\n\n"
        f"I'm sorry to have to inform you that your message could not\nbe delivered to one or more "
        f"recipients. It's attached below.\n\n                   The mail system\n\n{human}\n\n"
        f"--{boundary}\nContent-Description: Delivery report\nContent-Type: message/delivery-status\n\n"
        f"Reporting-MTA: dns; {host}\nX-Postfix-Queue-ID: {sent.postfix_queue_id(rng)}\n"
        f"X-Postfix-Sender: rfc822; {to}\nArrival-Date: {sent.rfc_date(copy.sent_at, 120)}\n{per}\n"
        f"--{boundary}\nContent-Description: Undelivered Message Headers\n"
        f"Content-Type: text/rfc822-headers\n\n{returned}\n--{boundary}--\n"
    )


def _exim(rng, copy, failures, at, to) -> str:
    relay_made = copy.via == "relay2"
    host = w.RELAYS[1].name if relay_made else copy.provider.mx
    ip = w.RELAYS[1].ip if relay_made else "198.18.9.41"
    returned = copy.isp_header_text() if relay_made else copy.header_text()
    lines = "\n".join(
        f"  {f.rcpt}\n    host mx.{f.rcpt.rsplit('@', 1)[-1]} [203.0.113.{rng.randint(2, 250)}]\n"
        f"    SMTP error from remote mail server after RCPT TO:<{f.rcpt}>:\n"
        f"    {f.diagnostic.split('; ', 1)[-1]}"
        for f in failures
    )
    return (
        _arrival(rng, host, ip, at).replace(_to_placeholder, to)
        + f"X-Failed-Recipients: {', '.join(f.rcpt for f in failures)}\nAuto-Submitted: auto-replied\n"
        f"From: Mail Delivery System <Mailer-Daemon@{host}>\nTo: {to}\n"
        f"Subject: Mail delivery failed: returning message to sender\n"
        f"Message-Id: <E{sent.exim_id(rng)}@{host}>\nDate: {sent.rfc_date(at, 0)}\n\n"
        "This message was created automatically by mail delivery software.\n\n"
        "A message that you sent could not be delivered to one or more of its\n"
        "recipients. This is a permanent error. The following address(es) failed:\n\n"
        f"{lines}\n\n------ This is a copy of the message, including all the headers. ------\n\n"
        f"{returned}\n{copy.body}"
    )


def _exchange(rng, copy, failures, at, to) -> str:
    host = copy.provider.mx
    boundary = f"_000_{sent.token(rng, sent.B62, 30)}_"
    per = "".join(
        f"\nFinal-recipient: RFC822; {f.rcpt}\nAction: {f.action}\nStatus: {f.status}\n"
        f"Diagnostic-code: {f.diagnostic}\nX-Display-Name: {f.rcpt.split('@')[0]}\n"
        for f in failures
    )
    listing = "<br>\n".join(f'<a href="mailto:{f.rcpt}">{f.rcpt}</a>' for f in failures)
    return (
        _arrival(rng, host, "198.18.12.7", at).replace(_to_placeholder, to)
        + f"From: postmaster@{copy.provider.domain}\nTo: <{to}>\nDate: {sent.rfc_date(at, 0)}\n"
        f"Subject: Undeliverable: {copy.header('Subject')}\nContent-Language: en-US\n"
        f"Message-ID: <{sent.token(rng, sent.B62, 20)}@{host}>\nMIME-Version: 1.0\n"
        f'Content-Type: multipart/report; report-type=delivery-status;\n\tboundary="{boundary}"\n'
        f"Auto-Submitted: auto-replied\n\n--{boundary}\nContent-Type: text/html; charset=us-ascii\n\n"
        '<html><body><p><b><font color="#000066">Delivery has failed to these recipients or '
        f"groups:</font></b></p>\n{listing}\n<p>The email address you entered couldn't be found."
        "</p></body></html>\n\n"
        f"--{boundary}\nContent-Type: message/delivery-status\n\nReporting-MTA: dns;{host}\n"
        f"Received-From-MTA: dns;{w.RELAYS[0].name}\nArrival-Date: {sent.rfc_date(copy.received_at, 0)}\n"
        f"{per}\n--{boundary}\nContent-Type: text/rfc822-headers\n\n{copy.header_text()}\n"
        f"--{boundary}--\n"
    )


def _gmail(rng, copy, failures, at, to) -> str:
    boundary = sent.token(rng, "0123456789abcdef", 28)
    first = failures[0]
    per = "".join(
        f"\nFinal-Recipient: rfc822; {f.rcpt}\nAction: {f.action}\nStatus: {f.status}\n"
        f"Remote-MTA: dns; {copy.provider.mx}. (2a00:1450:400c:c0b::1b, the server for the domain "
        f"{f.rcpt.rsplit('@', 1)[-1]}.)\nDiagnostic-Code: {f.diagnostic}\n"
        f"Last-Attempt-Date: {sent.rfc_date(at, -420)}\n"
        for f in failures
    )
    return (
        _arrival(rng, "mail-sor-f41.googlemail.example", "209.85.220.41", at).replace(
            _to_placeholder, to
        )
        + f"From: Mail Delivery Subsystem <mailer-daemon@googlemail.example>\nTo: {to}\n"
        f"Auto-Submitted: auto-replied\nSubject: Delivery Status Notification (Failure)\n"
        f"Message-ID: <{sent.token(rng, sent.B62, 24)}@mx.google.example>\nDate: {sent.rfc_date(at, -420)}\n"
        f'MIME-Version: 1.0\nContent-Type: multipart/report; boundary="{boundary}"; '
        f'report-type=delivery-status\n\n--{boundary}\nContent-Type: text/plain; charset="UTF-8"\n\n'
        f"** Address not found **\n\nYour message wasn't delivered to {first.rcpt} because the "
        "address couldn't be found, or is unable to receive mail.\n\nThe response from the remote "
        f"server was:\n{first.diagnostic.split('; ', 1)[-1]}\n\n--{boundary}\n"
        f"Content-Type: message/delivery-status\n\nReporting-MTA: dns; googlemail.example\n"
        f"Received-From-MTA: dns; {w.RELAYS[0].name}\nArrival-Date: {sent.rfc_date(copy.received_at, -420)}\n"
        f"{per}\n--{boundary}\nContent-Type: message/rfc822\n\n{copy.text()}\n--{boundary}--\n"
    )


def _qmail(rng, copy, failures, at, to) -> str:
    host = f"mail.{copy.provider.domain}"
    blocks = "\n\n".join(
        f"<{f.rcpt}>:\n{f.diagnostic.split('; ', 1)[-1]}" for f in failures
    )
    return (
        _arrival(rng, host, "198.18.33.3", at).replace(_to_placeholder, to)
        + f"Date: {at.day} {at:%b} {at.year} {at:%H:%M:%S} -0000\nFrom: MAILER-DAEMON@{host}\n"
        f"To: {to}\nSubject: failure notice\n\n"
        f"Hi. This is the qmail-send program at {host}.\nI'm afraid I wasn't able to deliver your "
        "message to the following addresses.\nThis is a permanent error; I've given up. Sorry it "
        f"didn't work out.\n\n{blocks}\n\n--- Below this line is a copy of the message.\n\n{copy.text()}"
    )
