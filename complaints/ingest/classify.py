"""Decide what an inbound email is and build its ``Report``.

Owns the order of the decisions, which matters because the signals overlap:

1. an Amazon SES notification mailed as JSON is what its
   ``notificationType`` says (its SNS footer's "unsubscribe" is no
   complaint); an X-ARF report is a complaint for spam, else ``other``
   labelled with its type;
2. an ARF feedback report (RFC 5965) is a complaint, or ``other`` for a
   ``not-spam`` report;
3. an MTA's session transcript to its postmaster is ``other``: the
   addresses in it are no failed recipients of ours;
4. a DSN (RFC 3464) is a bounce, or ``delivered`` when every recipient was
   delivered, relayed or expanded (RFC 3464 section 2.3.3);
5. a non-DSN delivery failure notice is a bounce; this is decided before the
   auto-reply test because bounces often carry ``Auto-Submitted``;
6. list managers' notices, Apple Mail's unsubscribe message and automated
   abuse notices of other kinds are ``other``, labelled;
7. an automatic reply (RFC 3834) is ``auto_reply`` and never a complaint;
8. forwarded spam (when something says it is a complaint), pasted headers
   or complaining prose are a complaint;
9. everything else is ``other``.

``classify`` never raises: any failure becomes ``Report(kind=other, error=...)``.
"""

from __future__ import annotations

import dataclasses
from email.message import Message

from complaints.linking.subjects import strip_prefixes

from . import (
    arf,
    autoreply,
    bounces,
    evidence,
    formats,
    intro,
    nonstandard,
    notices,
    parse,
    reasons,
)
from .original import build_original
from .report import ComplaintSource, Kind, OriginalMessage, Recipient, Report


def classify(raw: bytes, *, trace_header: str = "X-Abuse-Trace") -> Report:
    """Classify raw email bytes; never raises."""
    try:
        with reasons.answers_remembered():
            return _classify(raw, trace_header)
    except Exception as exc:  # noqa: BLE001 - the one boundary that turns breakage into data
        return Report(kind=Kind.OTHER, error=f"{type(exc).__name__}: {exc}"[:500])


def _outer_fields(msg: Message) -> dict[str, object]:
    """Report fields describing the outer (notification) message itself."""
    return {
        "reporter": parse.clean_address(parse.header(msg, "From")),
        "subject": parse.header(msg, "Subject"),
        "message_id": parse.header(msg, "Message-ID"),
        "date": parse.header(msg, "Date"),
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
        report = bounces.as_dsn(msg, notice, outer, trace_header)
    if report is None:
        report = bounces.as_plain_bounce(msg, notice, outer, trace_header)
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
    if report.kind == Kind.BOUNCE and parse.was_cut(msg):
        report = dataclasses.replace(report, is_cut=True)
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
            attached, source, {**outer, "user_agent": _mailer(msg)}, trace_header, text
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
            pasted, source, {**outer, "user_agent": _mailer(msg)}, trace_header, text
        )
    subject = str(outer.get("subject") or "")
    if _is_bulk(msg) or autoreply.is_auto_submitted(msg):
        return None
    quoted = _quoted_reply(text, subject, trace_header)
    if quoted is not None:
        return Report(
            kind=Kind.COMPLAINT,
            feedback_type="abuse",
            complaint_source=ComplaintSource.HUMAN,
            original=quoted,
            user_agent=_mailer(msg),
            **outer,
        )
    if arf.looks_like_complaint(f"{subject}\n{text}"):
        source = evidence.named_source(f"{subject}\n{text}")
        return Report(
            kind=Kind.COMPLAINT,
            feedback_type="abuse",
            complaint_source=ComplaintSource.HUMAN,
            user_agent=_mailer(msg),
            original=OriginalMessage(source_ip=source.address, arrival_date=source.seen)
            if source
            else None,
            **outer,
        )
    return None


def _quoted_reply(text: str, subject: str, trace_header: str) -> OriginalMessage | None:
    """A person replying to the spam itself ("Am ... schrieb Shop <news@...>:")
    and sending the reply to the desk: the quoted message is the reported one,
    its subject is the reply's without the prefix, its sender the attribution
    line's. Only when the words or the subject's reply/forward prefix say so."""
    attribution = intro.quoted_sender(text)
    if attribution is None:
        return None
    # The reply/forward prefixes are the ones grouping strips (one list).
    unprefixed = strip_prefixes(subject)
    has_prefix = unprefixed != " ".join(subject.split())
    if not (has_prefix or arf.looks_like_complaint(f"{subject}\n{text}")):
        return None
    sender = (
        f"{attribution.name} <{attribution.sender}>"
        if attribution.name
        else attribution.sender
    )
    headers = parse.parse_header_block(f"From: {sender}\nSubject: {unprefixed}\n")
    original = build_original(headers, {}, trace_header=trace_header)
    return dataclasses.replace(original, date=attribution.date_text)


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
    text: str,
) -> Report:
    """A complaint by a person; ``outer`` includes the mailer as user agent.
    Without a Date header, the forward's own date line tells when it was sent."""
    original = build_original(headers, {}, trace_header=trace_header)
    if original is not None and not original.date:
        original = dataclasses.replace(original, date=intro.forward_date_text(text))
    return Report(
        kind=Kind.COMPLAINT,
        feedback_type="abuse",
        complaint_source=source,
        original=original,
        **outer,
    )
