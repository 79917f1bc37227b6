"""RFC 3463 status codes and the reason classes the desk acts on.

Owns three decisions for every failed recipient:

* the enhanced status code (``class.subject.detail``, RFC 3463 section 2),
  taken from the DSN ``Status`` field, else from a code quoted in the
  diagnostic, else inferred from the diagnostic's wording and the SMTP reply
  code (RFC 5321 section 4.2);
* the reason class, one of ``REASONS`` (the wording that names each lives
  in ``reasons``);
* whether the failure is *hard*: the address can never receive mail.

A generic status such as ``5.0.0`` (RFC 3463 section 3.1, "other undefined
status") is refined when the diagnostic is specific: Exim reports
"Unrouteable address" with 5.0.0, many servers send "550 No such user" and
leave the rest to the reader.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .reasons import (
    BAD_DOMAIN,
    BAD_SYNTAX,
    CONTENT_REJECTED,
    FILTERED,
    HARD_REASONS,
    MAILBOX_DISABLED,
    MAILBOX_FULL,
    MESSAGE_TOO_LARGE,
    NETWORK,
    OTHER,
    POLICY,
    RATE_LIMITED,
    REPUTATION,
    SENDER_REJECTED,
    SUSPENDED,
    TEMPORARY,
    USER_UNKNOWN,
    Match,
    is_try_again_advice,
    match_reason,
    names_filtering_gateway,
)

# Reasons that stay meaningful on a temporary (4.x.x) failure; the others say
# something permanent about the address, so on a 4.x.x they are "temporary".
_SOFT_REASONS = frozenset(
    {
        MAILBOX_FULL,
        MESSAGE_TOO_LARGE,
        RATE_LIMITED,
        REPUTATION,
        CONTENT_REJECTED,
        FILTERED,
        SUSPENDED,
        SENDER_REJECTED,
        NETWORK,
    }
)
# Reasons too general to overrule a specific status code: "5.1.1 Recipient
# address rejected: Access denied" is still an unknown address.
_GENERIC_REASONS = frozenset({POLICY, TEMPORARY, OTHER, CONTENT_REJECTED})

# An enhanced status code in free text ("550 5.1.1 <a@b>", "#5.1.1"), but not
# part of a version number or an IP address ("8.12.11", "5.1.1.2").
# The class digit, then the look-behind for what precedes it: ``re`` skips to
# each 2, 4 or 5 instead of trying every position (four times faster).
STATUS_RE = re.compile(r"([245])(?<![\d.].)\.(\d{1,3})\.(\d{1,3})(?!\.?\d)")
# An SMTP reply code at the start of a reply, after "said:", "smtp;" etc.
# (The first digit, then the look-behind for what precedes it, as above.)
REPLY_CODE_RE = re.compile(r"([245](?<![^\s(;:#\"'=][245])[0-5]\d)(?=[\s\-,:)\]]|$)")
# Where a relay's own words end and the remote server's reply begins:
# Postfix "host x said:", Exchange "Remote Server returned '...'", Gmail "The
# response from the remote server was:", Sendmail "<<< ".
# The look-ahead for the letters the branches open with lets ``re`` skip
# most positions without trying each branch there.
_REMOTE_RE = re.compile(
    r"(?=[srat<])"
    r"(?:\b(said|replied|responded|answered|returned)( with)?\s*:|remote (server|host"
    r"|mta)( returned| replied| said)?\s*[:'\"]|\bthe (response|error)( from the"
    r" remote server| that the other server returned| was)?( was)?\s*:|<<<\s)",
    re.I,
)
# ``_REMOTE_RE`` for lowercased ASCII text: the same matches, each branch
# opening with its letter and checking the word start behind it, so that
# ``re`` skips to each s, r, a, t or "<" instead of trying every position.
_REMOTE_ASCII_RE = re.compile(
    r"s(?<!\ws)aid(?: with)?\s*:|r(?<!\wr)e(?:plied|sponded|turned)(?: with)?\s*:"
    r"|a(?<!\wa)nswered(?: with)?\s*:"
    r"|remote (?:server|host|mta)(?: returned| replied| said)?\s*[:'\"]"
    r"|t(?<!\wt)he (?:response|error)(?: from the remote server| that the other"
    r" server returned| was)?(?: was)?\s*:|<<<\s",
    re.ASCII,
)

# Reason implied by the subject.detail of a status (RFC 3463 section 3).
_STATUS_REASONS = {
    "1.1": USER_UNKNOWN,
    "1.2": BAD_DOMAIN,
    "1.3": BAD_SYNTAX,
    "1.6": USER_UNKNOWN,
    # Bad sender's mailbox syntax / system address: the sender's fault.
    "1.7": SENDER_REJECTED,
    "1.8": SENDER_REJECTED,
    "1.10": BAD_DOMAIN,
    "2.1": SUSPENDED,
    "2.2": MAILBOX_FULL,
    "2.3": MESSAGE_TOO_LARGE,
    "3.4": MESSAGE_TOO_LARGE,
    "4.1": NETWORK,
    "4.2": NETWORK,
    "4.3": NETWORK,
    "4.4": BAD_DOMAIN,
    "4.7": TEMPORARY,
    "5.0": NETWORK,
    "5.2": NETWORK,
    "5.3": RATE_LIMITED,
    "5.5": NETWORK,
    "7.1": POLICY,
    "7.23": REPUTATION,
    "7.24": REPUTATION,
    "7.25": REPUTATION,
    "7.26": REPUTATION,
    # RFC 7505 names 5.7.27 for a sender whose domain has a null MX, yet
    # servers send it for a recipient domain that accepts no mail.
    "7.27": BAD_DOMAIN,
    "7.28": RATE_LIMITED,
}
# Reasons whose specific code may refine a subject-level status (x.y.0).
_REFINABLE = frozenset(
    {
        USER_UNKNOWN,
        BAD_DOMAIN,
        BAD_SYNTAX,
        MAILBOX_DISABLED,
        SUSPENDED,
        MAILBOX_FULL,
        MESSAGE_TOO_LARGE,
    }
)
# Statuses specific enough that generic wording cannot override them.
# 5.1.10 is not among them: RFC 7505 defines it for a null MX, but Exchange
# Online reports an unknown mailbox ("RecipientNotFound") with it.
_AUTHORITATIVE = frozenset(
    {"1.1", "1.2", "1.3", "1.7", "1.8", "2.1", "2.2", "2.3", "3.4", "7.27"}
)
_TEMPORARY_TEXT = re.compile(
    r"try again|temporar|will (be )?retr|still trying|delayed|deferr|greylist"
    r"|warning: message|not yet been delivered",
    re.I,
)
_PERMANENT_TEXT = re.compile(r"permanent|fatal|gave up|giving up|5\d\d ", re.I)
# A 4.x.x unknown user that is only a failed check, not a fact.
_UNSURE_UNKNOWN = re.compile(
    r"unverified|verif|try again later|temporar|greylist|graylist|lookup fail"
    r"|unable to (check|look|verify)|not (yet )?(available|ready)",
    re.I,
)


@dataclass(frozen=True)
class Assessment:
    """What a diagnostic says about one recipient."""

    status: str | None
    reply_code: int | None
    reason: str
    is_hard: bool


def find_status(text: str | None) -> str | None:
    """Return the first failure status code (4.x.x or 5.x.x) quoted in ``text``.

    Success codes are ignored in free text: "2.0.12" there is a version.
    """
    # A code has two dots: most lines of a notice have none.
    if not text or "." not in text:
        return None
    for match in STATUS_RE.finditer(text):
        if match.group(1) != "2":
            return ".".join(match.groups())
    return None


def find_reply_code(text: str | None) -> int | None:
    """Return the SMTP reply code (RFC 5321) a diagnostic quotes, if any."""
    if not text:
        return None
    match = REPLY_CODE_RE.search(text[:400])
    return int(match.group(1)) if match else None


def normalize_status(value: str | None) -> str | None:
    """Return a ``Status`` field value as ``c.s.d``, or None when invalid."""
    if not value:
        return None
    match = STATUS_RE.search(value)
    return ".".join(match.groups()) if match else None


def _status_class(
    status: str | None, code: int | None, action: str | None, text: str
) -> str:
    """Pick the status class: explicit code, then reply, then action, then text."""
    if status:
        return status[0]
    if code:
        return str(code)[0]
    action = (action or "").lower()
    if action.startswith(("deliver", "relay", "expand")):
        return "2"
    if action.startswith("delay"):
        return "4"
    if action.startswith("fail"):
        return "5"
    if (
        _TEMPORARY_TEXT.search(text)
        and not _PERMANENT_TEXT.search(text)
        and not is_try_again_advice(text)
    ):
        return "4"
    return "5"


def _detail(status: str | None) -> str | None:
    return status.split(".", 1)[1] if status else None


def _choose_status(
    given: str | None, quoted: str | None, rule: Match | None, klass: str
) -> str:
    """Reconcile the Status field, a quoted code and the wording."""
    for candidate in (given, quoted):
        detail = _detail(candidate)
        if not candidate or detail == "0.0":
            continue
        # "5.1.0 Address rejected: user unknown": a subject-level code
        # (x.y.0) gives way to a specific one the wording supports.
        if (
            rule
            and detail
            and detail.endswith(".0")
            and rule[0] in _REFINABLE
            and rule[1].split(".")[0] == detail.split(".")[0]
        ):
            return f"{klass}.{rule[1]}"
        return f"{klass}.{detail}"
    if rule and klass != "2":
        return f"{klass}.{rule[1]}"
    return f"{klass}.0.0"


def _choose_reason(
    status: str, rule: Match | None, action: str | None, text: str
) -> str:
    klass, detail = status[0], _detail(status) or ""
    if klass == "2":
        return OTHER
    by_status = _STATUS_REASONS.get(detail)
    # The wording wins over the code ("5.1.1 ... over quota"), unless it is
    # too general to say more than a specific code does.
    if rule and not (rule[0] in _GENERIC_REASONS and detail in _AUTHORITATIVE):
        reason = rule[0]
    else:
        reason = by_status or (rule[0] if rule else None) or OTHER
    if klass == "4" and reason not in _SOFT_REASONS:
        if reason == USER_UNKNOWN and _plainly_unknown(action, text):
            return reason
        return TEMPORARY
    return reason


def _plainly_unknown(action: str | None, text: str) -> bool:
    """A 4.x.x that gave up and says outright that the user does not exist."""
    action = (action or "failed").lower()
    return action.startswith("fail") and not _UNSURE_UNKNOWN.search(text)


def remote_reply(text: str) -> str:
    """The remote server's own reply inside ``text``, else ``text`` itself.

    A relay that gives up wraps the far server's reply in its own words and
    code ("550 5.0.0 host mx said: 452 4.2.2 over quota"); the far server
    knows the mailbox, so its reply decides.
    """
    if text.isascii():
        matches = list(_REMOTE_ASCII_RE.finditer(text.lower()))
    else:
        matches = list(_REMOTE_RE.finditer(text))
    for match in reversed(matches):
        tail = text[match.end() :]
        if find_status(tail) or find_reply_code(tail):
            return tail
    return text


def assess(
    *,
    diagnostic: str | None,
    status: str | None = None,
    action: str | None = None,
    context: str = "",
) -> Assessment:
    """Work out the status, reply code, reason and hardness of one failure.

    ``context`` is the notice around the reply (see ``match_reason``).
    """
    text = diagnostic or ""
    reply = remote_reply(text)
    given = normalize_status(status)
    quoted = find_status(reply) or find_status(text)
    code = find_reply_code(reply) or find_reply_code(text)
    # The stage is read from the whole text, and only if a rule asks.
    stage_text = text.lower()
    rule = match_reason(
        reply, status=quoted or given, context=context, stage_text=stage_text
    )
    if rule is None and reply is not text:
        rule = match_reason(
            text, status=quoted or given, context=context, stage_text=stage_text
        )
    # The far server's quoted code outranks the relay's Status field.
    remote = find_status(reply) if reply is not text else None
    klass = _status_class(remote or given or quoted, code, action, text)
    final = _choose_status(remote or given, quoted, rule, klass)
    reason = _choose_reason(final, rule, action, reply)
    if reason == USER_UNKNOWN and (rule is None or rule[0] != USER_UNKNOWN):
        # Only the code says "unknown user": from a filtering gateway that
        # is its verdict on the message (the wording case is in the rules).
        if names_filtering_gateway(f"{text} {context}"):
            reason = FILTERED
    lowered = (action or "").lower()
    gave_up = not lowered.startswith(("delay", "deliver", "relay", "expand"))
    is_permanent = gave_up and (
        final.startswith("5") or (final.startswith("4") and reason in HARD_REASONS)
    )
    return Assessment(
        status=final,
        reply_code=code,
        reason=reason,
        is_hard=is_permanent and reason in HARD_REASONS,
    )
