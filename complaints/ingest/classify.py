"""Decide what an inbound email is and build its ``Report``.

Owns the order of the decisions, which matters because the signals overlap:

1. an ARF feedback report (RFC 5965) is a complaint, or ``other`` for a
   ``not-spam`` report;
2. a DSN (RFC 3464) is a bounce, or ``delivered`` when every recipient was
   delivered, relayed or expanded (RFC 3464 section 2.3.3);
3. a non-DSN delivery failure notice is a bounce; this is decided before the
   auto-reply test because bounces often carry ``Auto-Submitted``;
4. an automatic reply (RFC 3834) is ``auto_reply`` and never a complaint;
5. forwarded spam, pasted headers or complaining prose are a complaint;
6. everything else is ``other``.

``classify`` never raises: any failure becomes ``Report(kind=other, error=...)``.
"""

from __future__ import annotations

from email.message import Message

from . import (
    arf,
    autoreply,
    dsn,
    fallback,
    formats,
    lastresort,
    nonstandard,
    notices,
    parse,
    status,
)
from .original import build_original
from .report import ComplaintSource, Kind, OriginalMessage, Recipient, Report


def classify(raw: bytes, *, trace_header: str = "X-Abuse-Trace") -> Report:
    """Classify raw email bytes; never raises."""
    try:
        return _classify(raw, trace_header)
    except Exception as exc:  # noqa: BLE001 - the one boundary that turns breakage into data
        return Report(kind=Kind.OTHER, error=f"{type(exc).__name__}: {exc}"[:500])


def _outer_fields(msg: Message) -> dict[str, object]:
    """Report fields describing the outer (notification) message itself."""
    return {
        "reporter": parse.clean_address(parse.header(msg, "From")),
        "subject": parse.header(msg, "Subject"),
        "message_id": parse.header(msg, "Message-ID"),
        "is_auto_submitted": autoreply.is_auto_submitted(msg),
    }


def _classify(raw: bytes, trace_header: str) -> Report:
    msg = _unwrap(parse.parse_bytes(raw))
    outer = _outer_fields(msg)
    text = parse.notification_text(msg)
    notice = nonstandard.Notice(text)
    report = formats.as_ses(text, outer, trace_header) or formats.as_xarf(
        msg, outer, trace_header
    )
    if report is None:
        report = _as_feedback_report(msg, text, outer, trace_header)
    if report is None and notices.is_mta_notice(msg):
        report = Report(kind=Kind.OTHER, label=notices.MTA_NOTICE, **outer)
    if report is None:
        report = _as_dsn(msg, notice, outer, trace_header)
    if report is None:
        report = _as_plain_bounce(msg, notice, outer, trace_header)
    if report is None:
        report = formats.as_notice(msg, text, outer)
    if report is None and autoreply.is_auto_reply(msg, text):
        report = Report(
            kind=Kind.AUTO_REPLY, recipients=_replying_address(msg), **outer
        )
    if report is None:
        report = _as_human_complaint(msg, text, outer, trace_header)
    if report is None:
        report = Report(kind=Kind.OTHER, user_agent=_mailer(msg), **outer)
    return report


def _replying_address(msg: Message) -> tuple[Recipient, ...]:
    """The address an automatic reply answers for: its own sender, which the
    message reached (it is no failure: the mailbox exists and replied)."""
    for name in ("From", "Sender", "Return-Path"):
        address = parse.clean_address(parse.header(msg, name))
        if address:
            return (
                Recipient(
                    address=address,
                    action="delivered",
                    status=None,
                    reply_code=None,
                    diagnostic=None,
                    reason="other",
                    is_hard=False,
                ),
            )
    return ()


def _unwrap(msg: Message) -> Message:
    """Return the report inside a gateway's wrapper, else ``msg`` itself.

    Some gateways forward a DSN or ARF report as a ``message/rfc822``
    attachment, adding only a disclaimer; the report inside is the message.
    """
    if parse.content_type(msg) == "multipart/report":
        return msg
    for part in parse.attached_messages(msg):
        inner = parse.attached_message(part)
        if inner is not None and parse.content_type(inner) == "multipart/report":
            return inner
        break
    return msg


def _mailer(msg: Message) -> str | None:
    return parse.header(msg, "User-Agent") or parse.header(msg, "X-Mailer")


# -- complaints -----------------------------------------------------------


def _as_feedback_report(
    msg: Message, text: str, outer: dict[str, object], trace_header: str
) -> Report | None:
    if not arf.is_feedback_report(msg) and parse.content_type(msg) not in (
        "multipart/report",
        "multipart/mixed",
        "text/plain",
    ):
        return None
    feedback = arf.read_feedback_report(msg)
    if feedback is None:
        return None
    # A report forwarded inline as text by a person keeps the reported
    # message's headers only as pasted lines after the report's fields.
    headers = (
        arf.reported_message(msg)
        or arf.inline_reported_message(msg)
        or arf.find_pasted_headers(text)
    )
    original = build_original(headers, feedback.fields, trace_header=trace_header)
    feedback_type = feedback.feedback_type
    # "not-spam" (RFC 6650 section 3) reports a wrongly filtered message.
    kind = Kind.OTHER if feedback_type == "not-spam" else Kind.COMPLAINT
    return Report(
        kind=kind,
        feedback_type=feedback_type,
        complaint_source=ComplaintSource.FEEDBACK_LOOP,
        original=original,
        user_agent=feedback.user_agent,
        **outer,
    )


def _as_human_complaint(
    msg: Message, text: str, outer: dict[str, object], trace_header: str
) -> Report | None:
    if autoreply.auto_submitted(msg) == "auto-replied":
        return None
    reporter = outer.get("reporter")
    attached = arf.reported_message(msg)
    if attached is not None and notices.says_complaint(msg, text):
        source = (
            ComplaintSource.FEEDBACK_LOOP
            if arf.is_feedback_loop_sender(
                reporter if isinstance(reporter, str) else None
            )
            else ComplaintSource.FORWARDED
        )
        return _complaint(
            attached, source, {**outer, "user_agent": _mailer(msg)}, trace_header
        )
    pasted = arf.find_pasted_headers(text)
    forwarded = arf.is_forwarded_inline(text)
    # A quoted reply ("From: / Sent: / To: / Subject:") is not a reported
    # message unless it carries trace headers, is forwarded or complained of.
    if pasted is not None and (
        arf.has_trace_headers(pasted) or forwarded or arf.looks_like_complaint(text)
    ):
        source = ComplaintSource.FORWARDED if forwarded else ComplaintSource.HUMAN
        return _complaint(
            pasted, source, {**outer, "user_agent": _mailer(msg)}, trace_header
        )
    subject = str(outer.get("subject") or "")
    if _is_bulk(msg) or autoreply.is_auto_submitted(msg):
        return None
    if arf.looks_like_complaint(f"{subject}\n{text}"):
        return Report(
            kind=Kind.COMPLAINT,
            feedback_type="abuse",
            complaint_source=ComplaintSource.HUMAN,
            user_agent=_mailer(msg),
            **outer,
        )
    return None


def _is_bulk(msg: Message) -> bool:
    """List or bulk mail (RFC 2369, RFC 2919): newsletters talk of unsubscribing."""
    precedence = (parse.header(msg, "Precedence") or "").strip().lower()
    return (
        precedence in ("bulk", "list", "junk")
        or parse.header(msg, "List-Id") is not None
        or parse.header(msg, "List-Unsubscribe") is not None
    )


def _complaint(
    headers: Message,
    source: ComplaintSource,
    outer: dict[str, object],
    trace_header: str,
) -> Report:
    """A complaint by a person; ``outer`` includes the mailer as user agent."""
    return Report(
        kind=Kind.COMPLAINT,
        feedback_type="abuse",
        complaint_source=source,
        original=build_original(headers, {}, trace_header=trace_header),
        **outer,
    )


# -- bounces --------------------------------------------------------------


def _returned_headers(msg: Message, notice: nonstandard.Notice) -> Message | None:
    """The returned message's headers: attached, else quoted after the notice."""
    headers = arf.reported_message(msg)
    if headers is None:
        cut = len(notice.body)
        if cut < len(notice.text):
            headers = arf.find_pasted_headers(notice.text[cut:])
    return headers


def _bounce_original(
    msg: Message, notice: nonstandard.Notice, fields: dict[str, str], trace_header: str
) -> OriginalMessage | None:
    headers = _returned_headers(msg, notice)
    report_fields = {k: [v] for k, v in fields.items()}
    sender = fields.get("x-postfix-sender")
    if sender:
        report_fields["original-mail-from"] = [sender.split(";")[-1]]
    wanted = ("arrival-date", "x-postfix-queue-id", "original-mail-from")
    report_fields = {k: v for k, v in report_fields.items() if k in wanted}
    if headers is None and not report_fields:
        return None
    return build_original(headers, report_fields, trace_header=trace_header)


def _bounce_report(
    recipients: list[Recipient], original: OriginalMessage | None, outer: dict
) -> Report:
    failed = [r for r in recipients if not dsn.is_delivered(r)]
    if recipients and not failed:
        return Report(
            kind=Kind.DELIVERED,
            recipients=tuple(recipients),
            original=original,
            **outer,
        )
    return Report(
        kind=Kind.BOUNCE, recipients=tuple(failed), original=original, **outer
    )


def _as_dsn(
    msg: Message,
    notice: nonstandard.Notice,
    outer: dict[str, object],
    trace_header: str,
) -> Report | None:
    delivery = dsn.read_delivery_status(msg)
    if delivery is None and dsn.looks_like_dsn_text(notice.text):
        delivery = dsn.read_text_delivery_status(notice.text)
    if delivery is None:
        delivery = dsn.read_rejecting_mdn(msg)
    if delivery is None or not delivery.per_recipient:
        return None
    recipients: dict[str, Recipient] = {}
    context = _notice_context(msg, notice, delivery.per_message)
    for fields in delivery.per_recipient:
        address = dsn.recipient_address(fields)
        near = None
        if address and not dsn.has_diagnostic(fields):
            near = nonstandard.diagnostic_near(notice, address)
            # A DSN for one recipient whose reason is only in the text.
            if len(delivery.per_recipient) == 1 and not status.match_reason(near):
                near = " ".join(filter(None, (near, notice.global_diagnostic))) or None
        recipient = dsn.build_recipient(fields, near, context)
        if recipient is not None and recipient.address not in recipients:
            recipients[recipient.address] = recipient
    if not recipients:
        return None
    original = _bounce_original(msg, notice, delivery.per_message, trace_header)
    return _bounce_report(list(recipients.values()), original, outer)


def _excluded_addresses(msg: Message) -> set[str]:
    """Addresses that name the notice's parties, never a failed recipient."""
    names = ("From", "To", "Reply-To", "Return-Path", "Sender", "Errors-To", "Cc")
    excluded = set()
    for name in names:
        excluded.update(parse.addresses_in(" ".join(parse.header_all(msg, name))))
    attached = arf.reported_message(msg)
    if attached is not None:
        senders: set[str] = set()
        for name in ("From", "Return-Path", "Sender"):
            senders.update(parse.addresses_in(parse.header(attached, name) or ""))
        # A message sent to oneself bounces for its own sender: an address
        # the original was addressed to stays a candidate.
        addressed = " ".join(parse.header_all(attached, "To"))
        excluded.update(senders - set(parse.addresses_in(addressed)))
    return excluded


def _bounce_evidence(
    msg: Message, notice: nonstandard.Notice, failed_header: list[str]
) -> int:
    """How sure the notice is a bounce: 0 no, 1 maybe, 2 certainly."""
    if parse.content_type(msg) == "multipart/report":
        report_type = (msg.get_param("report-type") or "").lower()
        if "delivery-status" in report_type:
            return 2
        if "disposition-notification" in report_type:
            return 0
    if failed_header:
        return 2
    sender = nonstandard.has_bounce_sender(msg)
    subject = nonstandard.has_bounce_subject(msg)
    if (sender and subject) or (
        (sender or subject) and nonstandard.has_failure_text(notice)
    ):
        return 2
    return 1 if sender or subject else 0


def _as_plain_bounce(
    msg: Message,
    notice: nonstandard.Notice,
    outer: dict[str, object],
    trace_header: str,
) -> Report | None:
    failed_header = parse.addresses_in(
        " ".join(parse.header_all(msg, "X-Failed-Recipients"))
    )
    evidence = _bounce_evidence(msg, notice, failed_header)
    if not evidence:
        return None
    excluded = _excluded_addresses(msg)
    failures = nonstandard.find_failures(notice, exclude=excluded, extra=failed_header)
    if failed_header:
        # Exim's X-Failed-Recipients lists exactly the failed addresses; other
        # addresses in its text are help desks, aliases or the sender.
        failures = [f for f in failures if f.address in failed_header]
    if not failures and evidence == 2:
        failures = _last_resort_failures(msg, notice, excluded)
    if not failures:
        failures = fallback.flufl_failures(msg, notice)
    if not failures and evidence == 2:
        failures = _returned_addressee_failures(msg, notice, excluded)
    warning = notice.is_warning or _is_delay_subject(msg)
    context = _notice_context(msg, notice, {})
    recipients = [
        _recipient(
            f.address, f.diagnostic, f.is_delayed or warning, f.original, context
        )
        for f in failures
    ]
    if not recipients and (evidence < 2 or autoreply.has_reply_subject(msg)):
        return None
    original = _bounce_original(msg, notice, {}, trace_header)
    return Report(
        kind=Kind.BOUNCE, recipients=tuple(recipients), original=original, **outer
    )


def _last_resort_failures(
    msg: Message, notice: nonstandard.Notice, excluded: set[str]
) -> list[nonstandard.Failure]:
    """Failures of a certain bounce whose recipient only a guess can name."""
    addresses = lastresort.summary_addressee(notice, excluded)
    if not addresses:
        domain = lastresort.sender_domain(parse.header(msg, "From"))
        addresses = lastresort.bare_local_parts(notice, domain)
    diagnostic = notice.global_diagnostic
    return [
        nonstandard.Failure(address, diagnostic, notice.is_warning)
        for address in addresses
    ]


def _returned_addressee_failures(
    msg: Message, notice: nonstandard.Notice, excluded: set[str]
) -> list[nonstandard.Failure]:
    """The one addressee of the returned message, for a notice naming nobody."""
    headers = _returned_headers(msg, notice)
    addresses = lastresort.original_addressee(headers, excluded)
    return [
        nonstandard.Failure(address, notice.global_diagnostic, notice.is_warning)
        for address in addresses
    ]


def _is_delay_subject(msg: Message) -> bool:
    subject = (parse.header(msg, "Subject") or "").lower()
    return any(word in subject for word in ("delay", "still being retried"))


def _notice_context(
    msg: Message, notice: nonstandard.Notice, per_message: dict[str, str]
) -> str:
    """Who wrote the notice: its sender, reporting MTA and opening words,
    which name a filtering gateway when one sent it."""
    return " ".join(
        (
            parse.header(msg, "From") or "",
            per_message.get("reporting-mta", ""),
            notice.body[:600],
        )
    )


def _recipient(
    address: str,
    diagnostic: str | None,
    is_delayed: bool,
    original: str | None,
    context: str = "",
) -> Recipient:
    action = "delayed" if is_delayed else "failed"
    verdict = status.assess(diagnostic=diagnostic, action=action, context=context)
    return Recipient(
        address=address,
        action=action,
        status=verdict.status,
        reply_code=verdict.reply_code,
        diagnostic=parse.squash(diagnostic) if diagnostic else None,
        reason=verdict.reason,
        is_hard=verdict.is_hard,
        original_address=original if original != address else None,
    )
