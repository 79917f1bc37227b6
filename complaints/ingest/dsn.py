"""RFC 3464 delivery status notifications (``message/delivery-status``).

Owns reading the per-message and per-recipient field groups of a DSN
(RFC 3464 sections 2.2 and 2.3), including the internationalised
``message/global-delivery-status`` of RFC 6533 and the common breakage of
DSN fields sent as ``text/plain``. Each recipient is assessed by ``status``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from email.message import Message

from . import parse, status
from .report import Recipient

DSN_TYPES = frozenset({"message/delivery-status", "message/global-delivery-status"})
MDN_TYPES = frozenset(
    {"message/disposition-notification", "message/global-disposition-notification"}
)
# Actions of RFC 3464 section 2.3.3 that mean the message got through.
DELIVERED_ACTIONS = frozenset({"delivered", "relayed", "expanded"})

_FIELD_LINE = re.compile(r"^([A-Za-z][A-Za-z0-9-]{1,60})[ \t]*:[ \t]*(.*)$")
_RECIPIENT_FIELD = re.compile(r"^(final|original)-recipient[ \t]*:", re.I | re.M)
_ACTION_FIELD = re.compile(r"^action[ \t]*:", re.I | re.M)
# The same fields after the newline that opens their line: a literal first,
# which ``re`` skips to, where "^" is tested at every character.
_RECIPIENT_AFTER_NEWLINE = re.compile(r"\n(final|original)-recipient[ \t]*:", re.I)
_ACTION_AFTER_NEWLINE = re.compile(r"\naction[ \t]*:", re.I)


def _has_field(text: str, at_start: re.Pattern[str], after: re.Pattern[str]) -> bool:
    """Whether a line of ``text`` opens with the field: the first line, or
    one after a newline (the lines "^" finds in multiline mode)."""
    return at_start.match(text) is not None or after.search(text) is not None


@dataclass(frozen=True)
class DeliveryStatus:
    """The fields of one delivery-status part."""

    per_message: dict[str, str] = field(default_factory=dict)
    per_recipient: tuple[dict[str, str], ...] = ()


_ADDRESS_FIELDS = ("final-recipient", "original-recipient")


def _starts_group(name: str, current: dict[str, str]) -> bool:
    """True when field ``name`` opens a new recipient group.

    RFC 3464 separates groups by blank lines, but some MTAs run them
    together: a recipient field that repeats, or that follows the previous
    recipient's Action or Status, opens the next recipient's group.
    """
    if name not in _ADDRESS_FIELDS:
        return False
    if name in current:
        return True
    # Action or Status after this group's recipient field closes the group;
    # before it (PMDF writes them first) they belong to it.
    keys = list(current)
    named = [i for i, k in enumerate(keys) if k in _ADDRESS_FIELDS]
    return bool(named) and any(k in ("action", "status") for k in keys[named[-1] :])


# Fields whose value is kept as written (an encoded-word local part stays
# encoded: it is what the sender's software wrote).
_RAW_FIELDS = frozenset({"final-recipient", "original-recipient", "x-actual-recipient"})


def _field_value(name: str, value: str) -> str:
    if name in _RAW_FIELDS:
        return " ".join(str(value).split())
    return parse.decode_header_value(value)


def _groups(items: list[tuple[str, str]]) -> list[dict[str, str]]:
    """Field groups from ``(name, value)`` pairs, split where a group restarts."""
    blocks: list[dict[str, str]] = []
    current: dict[str, str] = {}
    for key, value in items:
        name = key.lower()
        if _starts_group(name, current):
            blocks.append(current)
            current = {}
        current.setdefault(name, _field_value(name, value))
    if current:
        blocks.append(current)
    return blocks


def _blocks_from_text(text: str) -> list[dict[str, str]]:
    """Split DSN text into field groups separated by blank lines."""
    blocks: list[dict[str, str]] = []
    items: list[list[str]] = []
    for line in text.split("\n"):
        if not line.strip():
            blocks.extend(_groups([(k, v) for k, v in items]))
            items = []
            continue
        if line[0] in " \t" and items:
            items[-1][1] += " " + line.strip()
            continue
        match = _FIELD_LINE.match(line)
        if match:
            items.append([match.group(1), match.group(2).strip()])
    blocks.extend(_groups([(k, v) for k, v in items]))
    return blocks


def _blocks_from_part(part: Message) -> list[dict[str, str]]:
    payload = part.get_payload()
    if isinstance(payload, list) and payload:
        blocks = []
        for block in payload:
            if isinstance(block, Message):
                blocks.extend(_groups(list(block.raw_items())))
                # message/global-delivery-status is parsed as one message:
                # the per-recipient groups end up in its body.
                if not block.is_multipart():
                    body = parse.part_text(block)
                    if body.strip():
                        blocks.extend(_blocks_from_text(body))
        return blocks
    return _blocks_from_text(parse.part_text(part))


def looks_like_dsn_text(text: str) -> bool:
    """True when plain text carries DSN fields (a mislabelled DSN part)."""
    return _has_field(text, _RECIPIENT_FIELD, _RECIPIENT_AFTER_NEWLINE) and _has_field(
        text, _ACTION_FIELD, _ACTION_AFTER_NEWLINE
    )


def read_delivery_status(msg: Message) -> DeliveryStatus | None:
    """Return the DSN fields of ``msg``, or None when it has no DSN part."""
    blocks: list[dict[str, str]] = []
    found = False
    for part in parse.walk_shallow(msg):
        ctype = parse.content_type(part)
        if ctype in DSN_TYPES:
            found = True
            blocks.extend(_blocks_from_part(part))
    if not found:
        return None
    per_message: dict[str, str] = {}
    recipients = []
    for block in blocks:
        if "final-recipient" in block or "original-recipient" in block:
            recipients.append(block)
        else:
            for key, value in block.items():
                per_message.setdefault(key, value)
    return DeliveryStatus(per_message, tuple(recipients))


def read_rejecting_mdn(msg: Message) -> DeliveryStatus | None:
    """Read an MDN that reports an automatic rejection as a DSN.

    Sieve ``reject`` (RFC 5429 section 2.2.2) answers with an MDN (RFC 8098)
    whose disposition is ``automatic-action/...; deleted``; for the sender it
    is a bounce. Read receipts (``displayed``) are not.
    """
    for part in parse.walk_shallow(msg):
        if parse.content_type(part) not in MDN_TYPES:
            continue
        fields: dict[str, str] = {}
        for block in _blocks_from_part(part):
            for key, value in block.items():
                fields.setdefault(key, value)
        disposition = fields.get("disposition", "").lower()
        if "automatic-action" in disposition and (
            "deleted" in disposition or "failed" in disposition
        ):
            fields["action"] = "failed"
            return DeliveryStatus({}, (fields,))
    return None


def read_text_delivery_status(text: str) -> DeliveryStatus:
    """Read DSN fields from plain text (for DSNs with a wrong content type)."""
    per_message: dict[str, str] = {}
    recipients = []
    for block in _blocks_from_text(text):
        if "final-recipient" in block or "original-recipient" in block:
            recipients.append(block)
        elif "reporting-mta" in block or "arrival-date" in block:
            per_message.update(block)
    return DeliveryStatus(per_message, tuple(recipients))


_BRACKETED = re.compile(r"<([^<>\s]+@[^<>\s]+)>")


def canonical_address(address: str) -> str:
    """An address as the desk stores it: lowercased, except an RFC 2047
    encoded-word local part, which is kept exactly as written."""
    local, at, domain = address.rpartition("@")
    if at and local.startswith("=?") and local.endswith("?="):
        return f"{local}@{domain.lower()}"
    return address.lower()


def _typed_address(value: str | None) -> str | None:
    """Return the address of an ``address-type; address`` field (RFC 3464 2.3.2)."""
    if not value:
        return None
    kind, _, rest = value.partition(";")
    if not rest:
        kind, rest = "rfc822", kind
    kind = kind.strip().lower()
    if kind not in ("rfc822", "utf-8", "x-unknown", "unknown"):
        return None
    # "a@x <b@y>": a name (itself shaped like an address) and the address.
    bracketed = _BRACKETED.search(rest)
    rest = bracketed.group(1) if bracketed else rest.strip().strip("<>").strip()
    # Kept even when malformed ("a..b@example.org"): a bounce for a bad
    # address is exactly what the desk needs to record.
    # ``split()`` cuts at exactly the characters ``isspace`` names: one piece
    # equal to the whole means there is none (a test in C, not per character).
    if rest.count("@") == 1 and rest.split() == [rest]:
        local, domain = rest.rsplit("@", 1)
        if local and "." in domain:
            return canonical_address(rest)
    return parse.clean_address(rest)


def recipient_address(fields: dict[str, str]) -> str | None:
    """The address delivery was last tried to: Final-Recipient, else the others."""
    for name in ("final-recipient", "x-actual-recipient", "original-recipient"):
        address = _typed_address(fields.get(name))
        if address:
            return address
    return None


def original_address(fields: dict[str, str], final: str | None = None) -> str | None:
    """The address the sender wrote (Original-Recipient), when it differs
    from ``final`` (the recipient's address, worked out when not given)."""
    if "original-recipient" not in fields:
        return None
    original = _typed_address(fields.get("original-recipient"))
    if original and original != (final or recipient_address(fields)):
        return original
    return None


def has_diagnostic(fields: dict[str, str]) -> bool:
    return bool(fields.get("diagnostic-code") or fields.get("x-diagnostic-code"))


def _diagnostic(fields: dict[str, str]) -> str | None:
    value = fields.get("diagnostic-code") or fields.get("x-diagnostic-code")
    if not value:
        return None
    kind, sep, rest = value.partition(";")
    # "smtp; 550 ..." (RFC 3464 section 2.3.6); some MTAs omit the type.
    text = rest if sep and len(kind) < 20 and " " not in kind.strip() else value
    return parse.squash(text) or None


_ACTION_WORDS = (
    (("fail", "error", "bounce", "reject", "undeliver"), "failed"),
    (("delay", "defer", "transient"), "delayed"),
    (("deliver",), "delivered"),
    (("relay",), "relayed"),
    (("expand",), "expanded"),
)


def normalize_action(value: str | None) -> str | None:
    """Map an Action value to RFC 3464 section 2.3.3's vocabulary.

    Real DSNs say "failure", "error" or "failed (bad destination mailbox
    address)"; they all mean ``failed``.
    """
    if not value or not value.strip():
        return None
    word = value.strip().lower()
    for prefixes, action in _ACTION_WORDS:
        if word.startswith(prefixes):
            return action
    return word.split()[0]


def build_recipient(
    fields: dict[str, str],
    fallback_diagnostic: str | None = None,
    context: str = "",
) -> Recipient | None:
    """Turn one per-recipient field group into a ``Recipient``."""
    address = recipient_address(fields)
    if not address:
        return None
    action = normalize_action(fields.get("action"))
    diagnostic = _diagnostic(fields) or fallback_diagnostic
    verdict = status.assess(
        diagnostic=diagnostic,
        status=fields.get("status"),
        action=action,
        context=context,
    )
    return Recipient(
        address=address,
        action=action,
        status=verdict.status,
        reply_code=verdict.reply_code,
        diagnostic=diagnostic,
        reason=verdict.reason,
        is_hard=verdict.is_hard,
        original_address=original_address(fields, address),
    )


def is_delivered(recipient: Recipient) -> bool:
    """True when the recipient's action says the message got through."""
    return (recipient.action or "") in DELIVERED_ACTIONS
