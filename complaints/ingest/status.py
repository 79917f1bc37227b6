"""RFC 3463 status codes and the reason classes the desk acts on.

Owns three decisions for every failed recipient:

* the enhanced status code (``class.subject.detail``, RFC 3463 section 2),
  taken from the DSN ``Status`` field, else from a code quoted in the
  diagnostic, else inferred from the diagnostic's wording and the SMTP reply
  code (RFC 5321 section 4.2);
* the reason class, one of ``REASONS``;
* whether the failure is *hard*: the address can never receive mail.

A generic status such as ``5.0.0`` (RFC 3463 section 3.1, "other undefined
status") is refined when the diagnostic is specific: Exim reports
"Unrouteable address" with 5.0.0, many servers send "550 No such user" and
leave the rest to the reader.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .prefilter import Starts, word_starts

USER_UNKNOWN = "user_unknown"
BAD_DOMAIN = "bad_domain"
BAD_SYNTAX = "bad_syntax"
MAILBOX_DISABLED = "mailbox_disabled"
MAILBOX_FULL = "mailbox_full"
MESSAGE_TOO_LARGE = "message_too_large"
CONTENT_REJECTED = "content_rejected"
POLICY = "policy"
REPUTATION = "reputation"
RATE_LIMITED = "rate_limited"
TEMPORARY = "temporary"
OTHER = "other"

REASONS = (
    USER_UNKNOWN,
    BAD_DOMAIN,
    BAD_SYNTAX,
    MAILBOX_DISABLED,
    MAILBOX_FULL,
    MESSAGE_TOO_LARGE,
    CONTENT_REJECTED,
    POLICY,
    REPUTATION,
    RATE_LIMITED,
    TEMPORARY,
    OTHER,
)
# Reasons meaning the address can never receive mail (DESIGN: "hard").
HARD_REASONS = frozenset({USER_UNKNOWN, BAD_DOMAIN, BAD_SYNTAX, MAILBOX_DISABLED})
# Reasons that stay meaningful on a temporary (4.x.x) failure; the others say
# something permanent about the address, so on a 4.x.x they are "temporary".
_SOFT_REASONS = frozenset(
    {MAILBOX_FULL, MESSAGE_TOO_LARGE, RATE_LIMITED, REPUTATION, CONTENT_REJECTED}
)

# An enhanced status code in free text ("550 5.1.1 <a@b>", "#5.1.1"), but not
# part of a version number or an IP address ("8.12.11", "5.1.1.2").
STATUS_RE = re.compile(r"(?<![\d.])([245])\.(\d{1,3})\.(\d{1,3})(?!\.?\d)")
# An SMTP reply code at the start of a reply, after "said:", "smtp;" etc.
REPLY_CODE_RE = re.compile(r"(?:^|[\s(;:#\"'=])([245][0-5]\d)(?=[\s\-,:)\]]|$)")

_RULES_SPEC: tuple[tuple[str, str, str], ...] = (
    # RFC 7505: a domain publishing a null MX accepts no mail at all.
    (BAD_DOMAIN, "1.10", r"null ?mx|domain does not accept (e-?)?mail"),
    (
        BAD_SYNTAX,
        "1.3",
        r"address syntax|syntax (error|illegal)?\s?in (mailbox|address|recipient"
        r"|parameters)|malformed (e-?mail |recipient )?address|invalid address"
        r" (format|syntax)|badly formatted (e-?mail )?address|illegal (e-?mail )?"
        r"address|not a valid rfc.?822 address|incomplete address|unbalanced"
        r"|improperly formatted|address (is )?(not|in)valid(ly)? formatted",
    ),
    # Outbound sending quotas must win over the mailbox "quota" below.
    (
        RATE_LIMITED,
        "7.0",
        r"(sending|daily|hourly|outbound|user) (sending )?(quota|limit)"
        r"|rate ?-?limit|too many (messages|connections|mails|e-?mails|concurrent"
        r"|recipients|sessions|errors)|throttl|unusual rate|unexpected volume"
        r"|(sending|message|connection) rate|receiving mail at a rate|too fast"
        r"|slow down|exceeded (the |a |your )?(sending |message |connection )?rate",
    ),
    (
        MAILBOX_FULL,
        "2.2",
        r"mail ?box (is |was |seems |appears )?(to be )?full|full mail ?box"
        r"|inbox is full|account is full|mailfolder is full|(over|exceed\w*)"
        r" (the |their |his |her |its )?(storage |disk |mailbox )?(quota|storage"
        r" allocation|allotted)|quota (exceeded|full|exceed)|overquota|disk quota"
        r"|mail ?box.{0,40}(exceed|over|reached).{0,25}(quota|limit|size|storage"
        r"|capacity)|insufficient (disk |system |storage )?(space|storage)"
        r"|(not|no) enough (disk |storage )?space|out of (disk |storage )?space"
        r"|storage (space )?(is )?full|user is over|too much mail"
        r"|mailbox size limit|exceeded storage|\bquota\b",
    ),
    (
        MESSAGE_TOO_LARGE,
        "3.4",
        r"message (size |length )?(exceeds|is too (large|big)|too (large|big))"
        r"|too (large|big)|size limit|exceeds? (the )?(maximum|fixed|allowed)"
        r" (message )?size|maximum (allowed )?(message )?size|length limit",
    ),
    (
        MAILBOX_DISABLED,
        "2.1",
        r"(account|mail ?box|user|address|recipient)( has been| is| was|'s"
        r" account has been)? (disabled|deactivated|suspended|inactive|closed"
        r"|locked|expired|frozen|terminated|discontinued)|(disabled|inactive"
        r"|closed|suspended|deactivated|expired|dormant) (e-?mail )?(account"
        r"|mail ?box|user)|no longer (active|in use|available|exists|with)"
        r"|(account|mail ?box) (is )?(no longer|not) (active|accepting)"
        r"|not accepting (any )?(mail|messages)(?! from)|has been disabled",
    ),
    (
        USER_UNKNOWN,
        "1.1",
        r"no longer valid|is wrong",
    ),
    (
        BAD_DOMAIN,
        "4.4",
        r"host or domain name not found|unrouteable|unroutable|unable to route"
        r"|no route to (host|domain)|all relevant mx records point to",
    ),
    (
        BAD_DOMAIN,
        "1.2",
        r"domain (name )?(not found|does not exist|doesn't exist|is not valid"
        r"|unknown|invalid|nonexistent)|(no such|unknown|invalid|non-?existent)"
        r" (domain|host)|host unknown|host not found|name service error|nxdomain"
        r"|no mx\b|no (valid )?(mx|mail exchanger)s?( records?)?"
        r" (for|found)|couldn'?t find any host|could not find any host"
        r"|domain (name )?lookup failed|bad destination system address"
        r"|(isn't|is not|not) (a )?(valid|known|local|hosted) domain"
        r"|does not resolve|dns (error|failure)",
    ),
    (
        USER_UNKNOWN,
        "1.1",
        r"user (name )?(is )?unknown|unknown (user|recipient|mail ?box|local.?part"
        r"|address|alias|addressee|e-?mail)|no such (user|recipient|mail ?box"
        r"|person|account|address|local user)|(user|recipient|mail ?box|address"
        r"|account|addressee|e-?mail)( address)?( name)? (does not|doesn't|did not"
        r"|didn't|not) exists?|(user|recipient|mail ?box|account|address|alias)"
        r" (was |is )?not (found|known|valid|recogni[sz]ed|listed)|recipient"
        r" (address )?(unknown|not found|invalid)|invalid (recipient|mail ?box"
        r"|user|e-?mail|address|addressee)|not a valid (user|recipient|mail ?box)"
        r"|mail ?box (currently )?(unavailable|not available)|no mail ?box"
        r"|bad destination mail ?box|addressee unknown|recipnotfound"
        r"|(doesn'?t|does not) have an? [\w.-]+ account|not our customer"
        r"|undeliverable address|no valid recipients|name is not recogni[sz]ed"
        r"|in (virtual|local|relay) (alias|mailbox|recipient) table|address"
        r" rejected: (access denied|undeliverable)|(account|mailbox|recipient)"
        r" does not exist|address unknown|not a known user|user not local"
        r"|not listed in (the )?(domino )?(public )?directory|unknown or illegal"
        r"|does not exist|doesn't exist|no such",
    ),
    (REPUTATION, "7.26", r"\bdmarc\b"),
    (REPUTATION, "7.23", r"\bspf\b|sender policy framework"),
    (REPUTATION, "7.25", r"reverse dns|\brdns\b|\bptr\b|reverse (lookup|dns)"),
    (
        REPUTATION,
        "7.1",
        r"blocked using|(listed|blacklisted|blocklisted) (in|on|at|by)"
        r"|black ?list|block ?list|\bdnsbl\b|\brbl\b|spamhaus|spamcop|sorbs"
        r"|barracuda ?(central|reputation)|uceprotect|reputation|client host"
        r" \S* ?(rejected|blocked)|(your|sending|sender|the) (ip|server|host"
        r"|mail server)( address)?.{0,40}(blocked|banned|listed|block)"
        r"|\bblocked\b.{0,40}\b(ip|host)\b|not authori[sz]ed to send|\bdkim\b"
        r"|from this ip|ip address.{0,40}(block|reject|not accepted|denied)",
    ),
    (
        CONTENT_REJECTED,
        "7.1",
        r"spam|virus|malware|infected|phish|content|suspicious|junk"
        r"|bulk (e-?)?mail|unsolicited|dangerous|attachment|message (looks|appears)"
        r"|(message|mail) (was )?(rejected|blocked|refused) (as|because|due)",
    ),
    (
        POLICY,
        "7.1",
        r"relay|authenticat|access denied|permission denied|not authori[sz]ed"
        r"|administrative prohibition|polic|prohibit|not allowed|refused|denied"
        r"|rejected by|restricted|blocked|forbidden|not accepting (mail|messages) from",
    ),
    # Exim: "retry time not reached for any host ... after a long failure period".
    (
        TEMPORARY,
        "4.7",
        r"expired|too long|time exceeded|retry timeout|gave up|long failure period"
        r"|retry time not reached",
    ),
    (
        TEMPORARY,
        "4.1",
        r"timed? ?out|timeout|connection refused|no answer|not responding"
        r"|unable to connect|could not connect|connect to .{1,80} failed",
    ),
    (TEMPORARY, "4.2", r"lost connection|connection (reset|closed|dropped)"),
    (
        TEMPORARY,
        "0.0",
        r"try again|temporar|deferr|delayed|will (be )?retr|greylist|graylist"
        r"|still trying|service (not |un)available|resources|retry",
    ),
)
# Patterns are matched against lowercased text: cheaper than re.IGNORECASE.
# Every phrase starts at a word boundary; saying so lets the regex engine
# skip positions inside words, and lets ``prefilter`` skip whole rules whose
# phrases cannot start anywhere in the text (most of them, for any text).
_RULES = tuple(
    (reason, detail, compiled, Starts(compiled))
    for reason, detail, pattern in _RULES_SPEC
    for compiled in (re.compile(rf"\b(?:{pattern})"),)
)

# Reason implied by the subject.detail of a status (RFC 3463 section 3).
_STATUS_REASONS = {
    "1.1": USER_UNKNOWN,
    "1.2": BAD_DOMAIN,
    "1.3": BAD_SYNTAX,
    "1.6": USER_UNKNOWN,
    "1.10": BAD_DOMAIN,
    "2.1": MAILBOX_DISABLED,
    "2.2": MAILBOX_FULL,
    "2.3": MESSAGE_TOO_LARGE,
    "3.4": MESSAGE_TOO_LARGE,
    "4.4": BAD_DOMAIN,
    "4.7": TEMPORARY,
    "5.3": RATE_LIMITED,
    "7.1": POLICY,
    "7.23": REPUTATION,
    "7.24": REPUTATION,
    "7.25": REPUTATION,
    "7.26": REPUTATION,
    "7.28": RATE_LIMITED,
}
# Reasons whose specific code may refine a subject-level status (x.y.0).
_REFINABLE = frozenset(
    {
        USER_UNKNOWN,
        BAD_DOMAIN,
        BAD_SYNTAX,
        MAILBOX_DISABLED,
        MAILBOX_FULL,
        MESSAGE_TOO_LARGE,
    }
)
# Statuses specific enough that the diagnostic's wording cannot override them.
# 5.1.10 is not among them: RFC 7505 defines it for a null MX, but Exchange
# Online reports an unknown mailbox ("RecipientNotFound") with it.
_AUTHORITATIVE = frozenset({"1.1", "1.2", "1.3", "2.2", "2.3", "3.4"})
_TEMPORARY_TEXT = re.compile(
    r"try again|temporar|will (be )?retr|still trying|delayed|deferr|greylist"
    r"|warning: message|not yet been delivered",
    re.I,
)
_PERMANENT_TEXT = re.compile(r"permanent|fatal|gave up|giving up|5\d\d ", re.I)


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
    if not text:
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


def match_reason(text: str | None) -> tuple[str, str] | None:
    """Return ``(reason, subject.detail)`` for the first rule ``text`` matches."""
    if not text:
        return None
    text = text[:2000].lower()
    starts = word_starts(text)
    for reason, detail, pattern, phrase_starts in _RULES:
        if phrase_starts.may_match(starts) and pattern.search(text):
            return reason, detail
    return None


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
    if _TEMPORARY_TEXT.search(text) and not _PERMANENT_TEXT.search(text):
        return "4"
    return "5"


def _detail(status: str | None) -> str | None:
    return status.split(".", 1)[1] if status else None


def _choose_status(
    given: str | None, quoted: str | None, rule: tuple[str, str] | None, klass: str
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


def _choose_reason(status: str, rule: tuple[str, str] | None) -> str:
    klass, detail = status[0], _detail(status) or ""
    if klass == "2":
        return OTHER
    by_status = _STATUS_REASONS.get(detail)
    if detail in _AUTHORITATIVE and by_status:
        reason = by_status
    else:
        reason = (rule[0] if rule else None) or by_status or OTHER
    if klass == "4" and reason not in _SOFT_REASONS:
        return TEMPORARY
    if reason == OTHER and klass == "4":
        return TEMPORARY
    return reason


def assess(
    *, diagnostic: str | None, status: str | None = None, action: str | None = None
) -> Assessment:
    """Work out the status, reply code, reason and hardness of one failure."""
    text = diagnostic or ""
    given = normalize_status(status)
    quoted = find_status(text)
    code = find_reply_code(text)
    rule = match_reason(text)
    klass = _status_class(given or quoted, code, action, text)
    final = _choose_status(given, quoted, rule, klass)
    reason = _choose_reason(final, rule)
    is_permanent = final.startswith("5") and not (action or "").lower().startswith(
        ("delay", "deliver", "relay", "expand")
    )
    return Assessment(
        status=final,
        reply_code=code,
        reason=reason,
        is_hard=is_permanent and reason in HARD_REASONS,
    )
