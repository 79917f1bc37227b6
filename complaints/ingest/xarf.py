"""X-ARF abuse reports: v0.1 and v0.2 (a YAML part) and v4 (JSON).

Owns recognising an X-ARF report and reading its category, type, source
address, date and the reporter's evidence. v0.1 and v0.2 mark the message
(``X-ARF: YES``, ``X-XARF: PLAIN``) and carry a second part, usually
``report.txt``, of flat YAML fields (``Reported-From``, ``Category``,
``Report-Type``, ``Source``, ``Date``, ``Attachment``), and the evidence as a
third part. v4 is one JSON object with ``ReporterInfo`` and ``Report``
(``ReportClass``, ``ReportType``, ``SourceIp``, ``Date``, ``Samples``).

Only spam counts as a spam complaint (``SPAM_TYPES``); every other report
(login attacks, port scans, phishing sites, malware, copyright) is
information for staff, labelled with its type.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass
from email.message import Message

from . import arf, parse

SPAM_TYPES = frozenset({"spam", "uce", "ube", "bulk", "spamvertised"})
_YAML_LINE = re.compile(r"^([A-Za-z][\w-]{0,60})\s*:\s*(.*?)\s*$")
_DECODER = json.JSONDecoder()


@dataclass(frozen=True)
class XarfReport:
    """What an X-ARF report says."""

    version: str
    category: str | None
    report_type: str | None
    source: str | None
    date: str | None
    reporter: str | None
    evidence: Message | None

    @property
    def is_spam(self) -> bool:
        words = {(self.report_type or "").lower(), (self.category or "").lower()}
        return bool(words & SPAM_TYPES)

    @property
    def label(self) -> str:
        return (self.report_type or self.category or "unknown").lower()


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1]
    return value


def _yaml_fields(text: str) -> dict[str, str]:
    fields: dict[str, str] = {}
    for line in text.split("\n"):
        match = _YAML_LINE.match(line)
        if match:
            fields.setdefault(match.group(1).lower(), _unquote(match.group(2)))
    return fields


def _is_marked(msg: Message) -> str | None:
    for name in ("X-XARF", "X-ARF"):
        value = (parse.header(msg, name) or "").strip().lower()
        if value in ("plain", "secure", "yes", "true", "1"):
            return "0.2" if name == "X-XARF" else "0.1"
    return None


def _json_report(text: str) -> dict | None:
    start = text.find("{")
    while 0 <= start < 200_000:
        try:
            value, end = _DECODER.raw_decode(text, start)
        except ValueError:
            start = text.find("{", start + 1)
            continue
        if isinstance(value, dict) and isinstance(value.get("Report"), dict):
            return value
        start = text.find("{", end)
    return None


def _evidence_from_samples(report: dict) -> Message | None:
    for sample in report.get("Samples") or ():
        if not isinstance(sample, dict) or "rfc822" not in str(
            sample.get("ContentType", "")
        ):
            continue
        payload = str(sample.get("Payload") or "")
        try:
            raw = (
                base64.b64decode(payload)
                if sample.get("Base64Encoded")
                else payload.encode()
            )
        except (ValueError, binascii.Error):
            continue
        return parse.parse_bytes(raw)
    return None


def _read_v4(msg: Message) -> XarfReport | None:
    for part in parse.walk_shallow(msg):
        if part.is_multipart():
            continue
        ctype = parse.content_type(part)
        if ctype not in ("application/json", "text/plain", "application/octet-stream"):
            continue
        text = parse.part_text(part)
        if '"Report"' not in text:
            continue
        data = _json_report(text)
        if data is None:
            continue
        report = data["Report"]
        info = (
            data.get("ReporterInfo")
            if isinstance(data.get("ReporterInfo"), dict)
            else {}
        )
        return XarfReport(
            version=str(data.get("Version") or "4"),
            category=_text(report.get("ReportClass")),
            report_type=_text(report.get("ReportType")),
            source=_text(report.get("SourceIp") or report.get("Source")),
            date=_text(report.get("Date")),
            reporter=_text(
                info.get("ReporterOrgEmail") or info.get("ReporterContactEmail")
            ),
            evidence=_evidence_from_samples(report),
        )
    return None


def _text(value: object) -> str | None:
    return str(value).strip() or None if value is not None else None


def _read_yaml(msg: Message, version: str) -> XarfReport | None:
    fields: dict[str, str] = {}
    for part in parse.walk_shallow(msg):
        if part.is_multipart() or not parse.content_type(part).startswith("text/"):
            continue
        text = parse.part_text(part, limit=20000)
        lowered = text.lower()
        if "report-type" in lowered or "schema-url" in lowered:
            fields = _yaml_fields(text)
            if "report-type" in fields or "category" in fields:
                break
    if not fields:
        return None
    evidence = arf.reported_message(msg)
    return XarfReport(
        version=fields.get("version", version),
        category=fields.get("category"),
        report_type=fields.get("report-type"),
        source=fields.get("source"),
        date=fields.get("date"),
        reporter=parse.clean_address(fields.get("reported-from")),
        evidence=evidence,
    )


def read_xarf(msg: Message) -> XarfReport | None:
    """The X-ARF report ``msg`` carries, or None."""
    # X-ARF is never an RFC 6522 report (those are DSNs and ARF).
    if parse.content_type(msg) == "multipart/report":
        return None
    version = _is_marked(msg)
    if version is not None:
        return _read_yaml(msg, version) or _read_v4(msg)
    # v4 has no marker header of its own: its JSON names itself.
    return _read_v4(msg) if _mentions_v4(msg) else None


def _mentions_v4(msg: Message) -> bool:
    """A JSON part, or a first text part that holds X-ARF v4 JSON."""
    looked = False
    for part in parse.walk_shallow(msg):
        ctype = parse.content_type(part)
        if ctype == "application/json":
            return True
        if looked or part.is_multipart() or not ctype.startswith("text/"):
            continue
        # The JSON is the body or its first part: later text is evidence.
        looked = True
        if '"ReporterInfo"' in parse.part_text(part, limit=4000):
            return True
    return False
