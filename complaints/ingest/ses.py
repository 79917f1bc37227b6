"""Amazon SES notifications mailed as JSON (directly or through SNS).

Owns reading the ``notificationType`` (or event publishing's ``eventType``)
``Bounce``, ``Complaint`` and ``Delivery`` objects that SES sends to an
email address, or that an SNS topic wraps in its own JSON envelope with
``Message`` holding the notification as a string. SNS appends a footer
offering to unsubscribe from the topic; that footer says nothing about the
mail the notification is about.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from . import dsn, parse, status
from .report import Recipient

KINDS = ("Bounce", "Complaint", "Delivery")
_DECODER = json.JSONDecoder()
# SES bounce sub-types that stand in for a diagnostic when none is given.
_SUBTYPE_TEXT = {
    "noemail": "no such user (SES NoEmail)",
    "suppressed": "address suppressed: it recently bounced as nonexistent",
    "onaccountsuppressionlist": "address on the suppression list as nonexistent",
    "mailboxfull": "mailbox full",
    "messagetoolarge": "message too large",
    "contentrejected": "content rejected",
    "attachmentrejected": "attachment rejected as content",
}


@dataclass(frozen=True)
class Notification:
    """One SES notification: its type and the JSON object."""

    kind: str
    data: dict[str, Any]

    @property
    def mail(self) -> dict[str, Any]:
        mail = self.data.get("mail")
        return mail if isinstance(mail, dict) else {}

    def section(self) -> dict[str, Any]:
        value = self.data.get(self.kind.lower())
        return value if isinstance(value, dict) else {}


def _objects(text: str):
    """JSON objects in ``text``, each from a ``{`` at the start of a line."""
    start = text.find("{")
    while start >= 0:
        try:
            value, end = _DECODER.raw_decode(text, start)
        except ValueError:
            start = text.find("{", start + 1)
            continue
        if isinstance(value, dict):
            yield value
        start = text.find("{", end)


def _notification(value: dict[str, Any]) -> Notification | None:
    kind = value.get("notificationType") or value.get("eventType")
    if kind in KINDS:
        return Notification(kind, value)
    # SNS wraps the notification as a string in its own "Message" field.
    message = value.get("Message")
    if value.get("Type") == "Notification" and isinstance(message, str):
        try:
            inner = json.loads(message)
        except ValueError:
            return None
        return _notification(inner) if isinstance(inner, dict) else None
    return None


def read_notification(text: str) -> Notification | None:
    """The SES notification in a message's text, or None."""
    if "notificationType" not in text and "eventType" not in text:
        return None
    for value in _objects(text[:200_000]):
        found = _notification(value)
        if found is not None:
            return found
    return None


def _address(value: object) -> str | None:
    return parse.clean_address(value) if isinstance(value, str) else None


def bounced_recipients(note: Notification) -> list[Recipient]:
    """The bounced recipients, each assessed like a DSN recipient."""
    bounce = note.section()
    permanent = str(bounce.get("bounceType", "")).lower() == "permanent"
    subtype = str(bounce.get("bounceSubType", "")).lower()
    found = []
    for item in bounce.get("bouncedRecipients") or ():
        if not isinstance(item, dict):
            continue
        address = _address(item.get("emailAddress"))
        if not address:
            continue
        fields = {
            "final-recipient": f"rfc822; {address}",
            "action": item.get("action") or ("failed" if permanent else "delayed"),
        }
        if item.get("status"):
            fields["status"] = str(item["status"])
        diagnostic = item.get("diagnosticCode") or _SUBTYPE_TEXT.get(subtype)
        if diagnostic:
            fields["diagnostic-code"] = str(diagnostic)
        recipient = dsn.build_recipient(fields)
        if recipient is not None:
            found.append(recipient)
    return found


def delivered_recipients(note: Notification) -> list[Recipient]:
    delivery = note.section()
    reply = str(delivery.get("smtpResponse") or "250 2.0.0 OK")
    found = []
    for value in delivery.get("recipients") or ():
        address = _address(value)
        if address:
            verdict = status.assess(diagnostic=reply, action="delivered")
            found.append(
                Recipient(
                    address=address,
                    action="delivered",
                    status=verdict.status,
                    reply_code=verdict.reply_code,
                    diagnostic=reply,
                    reason=verdict.reason,
                    is_hard=False,
                )
            )
    return found


def complaint_fields(note: Notification) -> dict[str, list[str]]:
    """ARF-like fields of a complaint, for ``build_original``."""
    complaint = note.section()
    mail = note.mail
    rcpt = [
        a
        for a in (
            _address(r.get("emailAddress")) if isinstance(r, dict) else None
            for r in complaint.get("complainedRecipients") or ()
        )
        if a
    ]
    fields: dict[str, list[str]] = {"original-rcpt-to": rcpt}
    if complaint.get("arrivalDate"):
        fields["arrival-date"] = [str(complaint["arrivalDate"])]
    if mail.get("source"):
        fields["original-mail-from"] = [str(mail["source"])]
    if mail.get("sourceIp"):
        fields["source-ip"] = [str(mail["sourceIp"])]
    return fields


def feedback_type(note: Notification) -> str:
    value = str(note.section().get("complaintFeedbackType") or "abuse").lower()
    return value.split()[0] if value.strip() else "abuse"


def original_headers(note: Notification):
    """The original's headers SES includes (``mail.headers``), as a Message."""
    mail = note.mail
    lines = [
        f"{h['name']}: {h['value']}"
        for h in mail.get("headers") or ()
        if isinstance(h, dict) and h.get("name") and isinstance(h.get("value"), str)
    ]
    common = (
        mail.get("commonHeaders") if isinstance(mail.get("commonHeaders"), dict) else {}
    )
    if not lines:
        for name, key in (
            ("Message-ID", "messageId"),
            ("Subject", "subject"),
            ("Date", "date"),
        ):
            if isinstance(common.get(key), str):
                lines.append(f"{name}: {common[key]}")
        for name, key in (("From", "from"), ("To", "to")):
            if isinstance(common.get(key), list):
                lines.append(f"{name}: {', '.join(map(str, common[key]))}")
    if not lines:
        return None
    return parse.parse_header_block(
        "\n".join(" ".join(x.split()) for x in lines) + "\n"
    )
