"""Bounces: a DSN or a non-DSN failure notice turned into a ``Report``.

Split from ``classify``, which decides when these are asked: ``as_dsn`` for
RFC 3464 reports (and DSN fields in mislabelled parts, and rejecting MDNs),
``as_plain_bounce`` for the notices only their text explains.
"""

from __future__ import annotations

from email.message import Message

from . import arf, autoreply, dsn, fallback, lastresort, nonstandard, parse, status
from .original import build_original
from .report import Kind, OriginalMessage, Recipient, Report


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


def as_dsn(
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
        report_type = (parse.content_param(msg, "report-type") or "").lower()
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


def as_plain_bounce(
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
            notice.text[:600],  # the opening words: no need to find the cut
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
