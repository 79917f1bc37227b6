"""The result of parsing one inbound email: frozen dataclasses, no behaviour.

``Report`` is what the rest of the application sees of an email; it carries
the kind of message, the failed recipients of a bounce, and the headers of the
reported (or returned) original message that linking needs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class Deferred:
    """A field of a frozen dataclass that may be given as a ``Later``: the
    value is then worked out the first time it is read, and kept. Equality,
    ``repr``, ``asdict`` and ``dataclasses.replace`` read it like any field;
    pickling stores the value (see ``OriginalMessage.__getstate__``)."""

    def __set_name__(self, owner: type, name: str) -> None:
        self._slot = f"_deferred_{name}"

    def __get__(self, obj: object, owner: type | None = None) -> Any:
        if obj is None:
            return None  # the field's default
        value = obj.__dict__[self._slot]
        if isinstance(value, Later):
            value = obj.__dict__[self._slot] = value.work()
        return value

    def __set__(self, obj: object, value: Any) -> None:
        obj.__dict__[self._slot] = value


@dataclass(frozen=True)
class Later:
    """A value to work out when first read (for a ``Deferred`` field)."""

    work: Callable[[], Any]


class Kind(StrEnum):
    COMPLAINT = "complaint"
    BOUNCE = "bounce"
    DELIVERED = "delivered"
    AUTO_REPLY = "auto_reply"
    OTHER = "other"


class ComplaintSource(StrEnum):
    """How a complaint reached the desk."""

    FEEDBACK_LOOP = "feedback_loop"
    FORWARDED = "forwarded"
    HUMAN = "human"


@dataclass(frozen=True)
class Recipient:
    """One recipient of a bounce or delivery report.

    ``address`` is where delivery was last tried (a DSN's ``Final-Recipient``);
    ``original_address`` is the address the sender wrote, when the report
    gives one (``Original-Recipient``, RFC 3464 section 2.3.1) or the notice
    names the alias it was expanded from.
    """

    address: str
    action: str | None
    status: str | None
    reply_code: int | None
    diagnostic: str | None
    reason: str
    is_hard: bool
    original_address: str | None = None

    @property
    def sent_to(self) -> str:
        """The address the sender mailed: the original, else the final one."""
        return self.original_address or self.address

    def to_json_dict(self) -> dict[str, Any]:
        return {
            "address": self.address,
            "original_address": self.original_address,
            "action": self.action,
            "status": self.status,
            "reply_code": self.reply_code,
            "reason": self.reason,
            "hard": self.is_hard,
            "diagnostic": self.diagnostic,
        }


@dataclass(frozen=True)
class Hop:
    """One ``Received`` line of the reported message: who handed it to whom."""

    from_name: str | None = None
    from_rdns: str | None = None
    from_ip: str | None = None
    by_host: str | None = None
    login: str | None = None
    queue_id: str | None = None
    protocol: str | None = None
    date: str | None = None

    def to_json_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


@dataclass(frozen=True)
class OriginalMessage:
    """Headers of the message a report is about."""

    message_id: str | None = None
    from_: str | None = None
    subject: str | None = None
    date: str | None = None
    to: str | None = None
    mail_from: str | None = None
    rcpt_to: tuple[str, ...] = ()
    source_ip: str | None = None
    arrival_date: str | None = None
    login: str | None = None
    queue_ids: tuple[str, ...] = ()
    trace: str | None = None
    # The Received trail, newest first, and a digest of the report's content
    # (feedback fields and the reported headers) that a resent report repeats.
    hops: tuple[Hop, ...] = ()
    # Only a complaint's is ever read (to spot a resent report), so a
    # bounce's is not worked out unless asked for.
    fingerprint: str | None = Deferred()  # type: ignore[assignment]
    # (relay host, login) from headers a relay adds instead of a Received
    # comment (cPanel's Exim: X-Get-Message-Sender-Via).
    relay_logins: tuple[tuple[str, str], ...] = ()

    def __getstate__(self) -> dict[str, Any]:
        # A pickled report carries the values, not the work to find them.
        state = dict(self.__dict__)
        state["_deferred_fingerprint"] = self.fingerprint
        return state

    def to_json_dict(self) -> dict[str, Any]:
        return {
            "message_id": self.message_id,
            "from": self.from_,
            "subject": self.subject,
            "date": self.date,
            "to": self.to,
            "mail_from": self.mail_from,
            "rcpt_to": list(self.rcpt_to),
            "source_ip": self.source_ip,
            "arrival_date": self.arrival_date,
            "login": self.login,
            "queue_ids": list(self.queue_ids),
            "trace": self.trace,
            "hops": [hop.to_json_dict() for hop in self.hops],
        }


@dataclass(frozen=True)
class Report:
    """Everything the desk needs to know about one inbound email."""

    kind: Kind
    feedback_type: str | None = None
    complaint_source: ComplaintSource | None = None
    recipients: tuple[Recipient, ...] = ()
    original: OriginalMessage | None = None
    reporter: str | None = None
    user_agent: str | None = None
    subject: str | None = None
    message_id: str | None = None
    # The report's own Date header: the last trustworthy clock for linking.
    date: str | None = None
    error: str | None = None
    is_auto_submitted: bool = False
    # A part was longer than the parser reads: recipients past it are missing.
    is_cut: bool = False
    # What an ``other`` report is (a list manager's notice, an X-ARF
    # login-attack report, a copyright notice...), for staff.
    label: str | None = None

    def to_json_dict(self) -> dict[str, Any]:
        """Return the ``parse_report --json`` shape (without ``file``)."""
        return {
            "kind": str(self.kind),
            "feedback_type": self.feedback_type,
            "label": self.label,
            "recipients": [r.to_json_dict() for r in self.recipients],
            "original": self.original.to_json_dict() if self.original else None,
            "error": self.error,
        }
