"""Reports in formats beside ARF and DSN: Amazon SES notifications, X-ARF,
and the automated notices that are neither bounces nor complaints.

Each ``as_*`` function returns a ``Report`` when the message is in its
format, else None; ``classify`` decides when each is asked.
"""

from __future__ import annotations

from email.message import Message

from . import notices, ses, xarf
from .original import build_original
from .report import ComplaintSource, Kind, Report


def as_ses(text: str, outer: dict[str, object], trace_header: str) -> Report | None:
    """An SES Bounce, Complaint or Delivery notification (mailed JSON)."""
    note = ses.read_notification(text)
    if note is None:
        return None
    headers = ses.original_headers(note)
    if note.kind == "Complaint":
        fields = ses.complaint_fields(note)
        return Report(
            kind=Kind.COMPLAINT,
            feedback_type=ses.feedback_type(note),
            complaint_source=ComplaintSource.FEEDBACK_LOOP,
            original=build_original(headers, fields, trace_header=trace_header),
            label="ses",
            **outer,
        )
    original = build_original(headers, {}, trace_header=trace_header)
    if note.kind == "Delivery":
        recipients = ses.delivered_recipients(note)
        kind = Kind.DELIVERED
    else:
        recipients = ses.bounced_recipients(note)
        kind = Kind.BOUNCE
    return Report(
        kind=kind,
        recipients=tuple(recipients),
        original=original,
        label="ses",
        **outer,
    )


def as_xarf(msg: Message, outer: dict[str, object], trace_header: str) -> Report | None:
    """An X-ARF report: a spam complaint, or ``other`` labelled with its type."""
    report = xarf.read_xarf(msg)
    if report is None:
        return None
    fields: dict[str, list[str]] = {}
    if report.source:
        fields["source-ip"] = [report.source]
    if report.date:
        fields["arrival-date"] = [report.date]
    original = build_original(report.evidence, fields, trace_header=trace_header)
    reporter = report.reporter or outer.get("reporter")
    common = {**outer, "reporter": reporter, "original": original}
    if report.is_spam:
        return Report(
            kind=Kind.COMPLAINT,
            feedback_type="abuse",
            complaint_source=ComplaintSource.FEEDBACK_LOOP,
            label=f"x-arf {report.label}",
            **common,
        )
    return Report(kind=Kind.OTHER, label=f"x-arf {report.label}", **common)


def as_notice(msg: Message, text: str, outer: dict[str, object]) -> Report | None:
    """An automated notice that is no bounce and no complaint, labelled."""
    label = notices.notice_label(msg, text)
    if label is None:
        return None
    feedback_type = notices.OPT_OUT if label == notices.OPT_OUT else None
    return Report(kind=Kind.OTHER, feedback_type=feedback_type, label=label, **outer)
