"""The reason classes a failure is sorted into, and the wording that names them.

One ``Rule`` per way of saying a reason: its phrases, its *vetoes* (words
that, when present, mean the phrase is about something else), and the SMTP
stages and RFC 3463 status subjects it applies at. A rule never depends on
the rules before it; where two reasons' wording overlaps, a veto says so,
which keeps each rule readable and testable on its own (the tests hold one
table per reason). When several rules match, ``PRECEDENCE`` orders the
reasons, most specific first.

Two inputs besides the wording decide many cases:

* the SMTP *stage* the reply answered (RFC 5321 section 3.3): an "unknown
  user" after ``DATA`` is a content filter's verdict (``filtered``), any
  refusal after ``MAIL FROM`` or ``HELO`` is about the sender;
* the *status subject* (RFC 3463: ``x.7.x`` security or policy, ``x.2.x``
  mailbox): "user unknown" under 5.7.1 is a gateway's policy, not a fact.

Localised wording lives in ``reasons_local``; it is tried only when the
English rules name nothing, because an English reply quoted in the same
text decides.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import NamedTuple

from . import reasons_local
from .phrases import (
    FILTER_PRODUCTS,
    SCANNING_BANNER,
    SENDER_WORDS,
    TRY_AGAIN_ADVICE,
    UNKNOWN_USER_WORDS,
)
from .prefilter import word_starts
from .rules import (
    CONNECT,
    DATA,
    HELO,
    MAIL,
    RCPT,
    LazyStage,
    Rule,
    RuleIndex,
    smtp_stage,
)

__all__ = ["CONNECT", "DATA", "HELO", "MAIL", "RCPT", "Rule", "smtp_stage"]

USER_UNKNOWN = "user_unknown"
BAD_DOMAIN = "bad_domain"
BAD_SYNTAX = "bad_syntax"
MAILBOX_DISABLED = "mailbox_disabled"
SUSPENDED = "suspended"
MAILBOX_FULL = "mailbox_full"
MESSAGE_TOO_LARGE = "message_too_large"
FILTERED = "filtered"
CONTENT_REJECTED = "content_rejected"
SENDER_REJECTED = "sender_rejected"
POLICY = "policy"
REPUTATION = "reputation"
RATE_LIMITED = "rate_limited"
NETWORK = "network"
TEMPORARY = "temporary"
OTHER = "other"

# The reason classes in words, for staff reading a mailing's bounces.
DESCRIPTIONS = {
    USER_UNKNOWN: "address does not exist",
    BAD_DOMAIN: "domain does not exist or takes no mail",
    BAD_SYNTAX: "malformed address",
    MAILBOX_DISABLED: "mailbox disabled",
    SUSPENDED: "mailbox suspended",
    MAILBOX_FULL: "mailbox full",
    MESSAGE_TOO_LARGE: "message too large",
    CONTENT_REJECTED: "refused for its content",
    FILTERED: "stopped by a content filter",
    SENDER_REJECTED: "the sender was refused",
    NETWORK: "network or DNS failure",
    POLICY: "refused by the receiver's policy",
    REPUTATION: "refused for the sender's reputation",
    RATE_LIMITED: "too much mail at once",
    TEMPORARY: "temporary failure",
    OTHER: "other failure",
}

# Most specific first: the order in which matching reasons win.
PRECEDENCE = (
    SENDER_REJECTED,
    FILTERED,
    NETWORK,
    BAD_SYNTAX,
    RATE_LIMITED,
    MAILBOX_FULL,
    MESSAGE_TOO_LARGE,
    SUSPENDED,
    MAILBOX_DISABLED,
    BAD_DOMAIN,
    USER_UNKNOWN,
    REPUTATION,
    CONTENT_REJECTED,
    POLICY,
    TEMPORARY,
)
REASONS = (*PRECEDENCE, OTHER)
# DESIGN "Bounce": hard means the address does not exist or can never
# receive mail. Disabled, suspended and full mailboxes exist.
HARD_REASONS = frozenset({USER_UNKNOWN, BAD_DOMAIN, BAD_SYNTAX})

# -- the rules ----------------------------------------------------------

_SUBJECT_POLICY = frozenset({"7"})
_STORED_TOO_MUCH = (
    r"too many (messages|mails|e-?mails) (on|in|stored)( the| this| your)?"
    r" (server|mail ?box|account|folder)"
)
_SUBJECT_FILTER = frozenset({"2", "7"})

RULES: tuple[Rule, ...] = (
    Rule(SENDER_REJECTED, "7.1", SENDER_WORDS),
    # Anything refused in answer to MAIL FROM or HELO: the recipient was
    # never even named. Reputation and rate limits say more, and win.
    Rule(
        SENDER_REJECTED,
        "7.1",
        (r"\w",),
        vetoes=(
            r"spamhaus|dnsbl|rbl|blacklist|blocklist|block list|black list",
            r"too many|rate limit|throttl|try again later|timed? ?out",
            # ESMTP SIZE is declared with MAIL FROM (RFC 1870): the message's.
            r"too (big|large)|size (limit|exceed)|exceeds? (the )?(maximum |allowed )?"
            r"(message )?size",
        ),
        stages=frozenset({MAIL, HELO}),
    ),
    # An unknown-user reply to the message content, or from a filtering
    # gateway, or under a policy status: a verdict on the message.
    Rule(
        FILTERED,
        "7.1",
        UNKNOWN_USER_WORDS,
        vetoes=(r"access denied\. as\(\d", r"recipnotfound|recipientnotfound"),
        stages=frozenset({DATA}),
        subjects=_SUBJECT_FILTER,
        requires=FILTER_PRODUCTS,
    ),
    Rule(
        NETWORK,
        "4.3",
        (
            r"temporary (failure in name resolution|dns|lookup failure|name"
            r" (resolution|server))|dns (temporary|timeout|servfail|lookup timed)"
            r"|servfail|name (server|service) (error|failure).{0,120}try again"
            r"|host not found, try again|try again.{0,40}(dns|name server)",
            r"protocol (error|violation)|command (unrecognized|not recognized)"
            r"|syntax error,? command|improper (command )?pipelining|bad sequence"
            r"|unexpected (response|reply|eof)|out of sequence|line too long"
            r"|bare (lf|linefeed|<lf>)|malformed (name server|dns) (reply|response)",
            r"lost connection|connection (reset|closed|dropped|refused|timed out)"
            r"|timed? ?out|timeout|no route to host|network is unreachable"
            r"|unable to connect|could not connect|connect to .{1,80} failed"
            r"|not responding|no answer|tls|ssl|starttls|handshake|certificate",
        ),
        vetoes=(r"no such|does not exist|user unknown|unknown user|retry time",),
    ),
    Rule(
        BAD_SYNTAX,
        "1.3",
        (
            r"address syntax|syntax (error|illegal)?\s?in (mailbox|address|recipient"
            r"|parameters)|malformed (e-?mail |recipient )?address|invalid address"
            r" (format|syntax)|badly formatted (e-?mail )?address|illegal (e-?mail )?"
            r"address|not a valid rfc.?822 address|incomplete address|unbalanced"
            r"|improperly formatted|address (is )?(not|in)valid(ly)? formatted",
        ),
    ),
    Rule(
        RATE_LIMITED,
        "7.0",
        (
            r"(sending|daily|hourly|outbound|user) (sending )?(quota|limit)"
            r"|rate ?-?limit|too many (messages|connections|mails|e-?mails|concurrent"
            r"|recipients|sessions|errors)|throttl|unusual rate|unexpected volume"
            r"|(sending|message|connection) rate|receiving mail at a rate|too fast"
            r"|slow down|exceeded (the |a |your )?(sending |message |connection )?rate"
            r"|(recipients|messages) (per|this|an) (hour|day|minute)",
        ),
        # "Too many messages on the server": the mailbox holds too much.
        vetoes=(_STORED_TOO_MUCH,),
    ),
    Rule(
        MAILBOX_FULL,
        "2.2",
        (
            r"mail ?box (is |was |seems |appears )?(to be )?full|full mail ?box"
            r"|inbox is full|account is full|mailfolder is full|(over|exceed\w*)"
            r" (the |their |his |her |its )?(storage |disk |mailbox )?(quota|storage"
            r" allocation|allotted)|quota (exceeded|full|exceed)|overquota|disk quota"
            r"|mail ?box.{0,40}(exceed|over|reached).{0,25}(quota|limit|size|storage"
            r"|capacity)|insufficient (disk |system |storage )?(space|storage)"
            r"|(not|no) enough (disk |storage )?space|out of (disk |storage )?space"
            r"|storage (space )?(is )?full|user is over|too much mail"
            r"|mailbox size limit|exceeded storage|\bquota\b",
            _STORED_TOO_MUCH,
        ),
        vetoes=(r"(sending|daily|hourly|outbound) quota",),
    ),
    Rule(
        MESSAGE_TOO_LARGE,
        "3.4",
        (
            r"message (size |length )?(exceeds|is too (large|big)|too (large|big))"
            r"|too (large|big)|size limit|exceeds? (the )?(maximum|fixed|allowed)"
            r" (message )?size|maximum (allowed )?(message )?size|length limit"
            r"|max (allowed )?(message |mail )?size|(message|mail) size exceeded",
        ),
        vetoes=(r"mail ?box size limit",),
    ),
    Rule(
        SUSPENDED,
        "2.1",
        (
            r"(account|mail ?box|user|address|recipient)( has been| is| was|'s"
            r" account has been)?( temporarily| currently)? (disabled|deactivated"
            r"|suspended|inactive|locked|frozen|blocked|on hold)",
            # A tag some providers open the reply with: "550 [SUSPEND] ...".
            r"\[suspend(ed)?\]",
            r"(disabled|inactive|suspended|deactivated|locked|frozen|dormant)"
            r" (e-?mail )?(account|mail ?box|user)",
            r"has been disabled|is disabled|account (is )?not (active|enabled)",
        ),
        # "Your account is suspended" is the sending account's.
        vetoes=(r"your (account|ip|domain)",),
    ),
    Rule(
        MAILBOX_DISABLED,
        "2.1",
        (
            r"(account|mail ?box|user|address|recipient)( has been| is| was)?"
            r" (closed|expired|terminated|discontinued)",
            r"(closed|expired) (e-?mail )?(account|mail ?box)",
            r"no longer (active|in use|available|with)",
            r"(account|mail ?box) (is )?(no longer|not) accepting",
            r"not accepting (any )?(mail|messages)(?! from)",
        ),
        # "... not accepting mail with attachments": refused for its content.
        vetoes=(r"your (account|ip|domain)", r"accepting (any )?(mail|messages) with"),
    ),
    Rule(
        BAD_DOMAIN,
        "1.10",
        (
            r"null ?mx|(domain|host) (does not|doesn't|will not) accept (e-?)?mail",
            r"accepts? no (e-?)?mail|no smtp service|does not (provide|offer) smtp",
        ),
    ),
    Rule(
        BAD_DOMAIN,
        "4.4",
        (
            r"host or domain name not found|unrouteable|unroutable|unable to route"
            r"|no route to (domain)|all relevant mx records point to",
        ),
    ),
    Rule(
        BAD_DOMAIN,
        "1.2",
        (
            r"domain (name )?(not found|does not exist|doesn't exist|is not valid"
            r"|unknown|invalid|nonexistent)|(no such|unknown|invalid|non-?existent)"
            r" (domain|host)|host unknown|host not found|nxdomain"
            r"|no mx\b|no (valid )?(mx|mail exchanger)s?( records?)?"
            r" (for|found)|couldn'?t find any host|could not find any host"
            r"|domain (name )?lookup failed|bad destination system address"
            r"|(isn't|is not|not) (a )?(valid|known|local|hosted) domain"
            r"|does not resolve|name or service not known",
        ),
    ),
    Rule(USER_UNKNOWN, "1.1", UNKNOWN_USER_WORDS),
    # "Recipient address rejected" alone (Postfix's prefix with the reason
    # cut off, or a terse server): the address, unless another reason shows.
    Rule(
        USER_UNKNOWN,
        "1.1",
        (r"(recipient )?address rejected",),
        vetoes=(
            r"access denied|policy|spam|block|greylist|graylist|try again later",
            r"temporar|relay|not permitted|denied|authenticat|quota|rate|dmarc|spf",
        ),
    ),
    Rule(REPUTATION, "7.26", (r"\bdmarc\b",)),
    Rule(REPUTATION, "7.23", (r"\bspf\b|sender policy framework",)),
    Rule(REPUTATION, "7.25", (r"reverse dns|\brdns\b|\bptr\b|reverse (lookup|dns)",)),
    Rule(
        REPUTATION,
        "7.1",
        (
            r"blocked using|(listed|blacklisted|blocklisted) (in|on|at|by)"
            r"|black ?list|block ?list|\bdnsbl\b|\brbl\b|spamhaus|spamcop|sorbs"
            r"|barracuda ?(central|reputation)|uceprotect|reputation|client host"
            r" \S* ?(rejected|blocked)|(your|sending|sender|the) (ip|server|host"
            r"|mail server)( address)?.{0,40}(blocked|banned|listed|block)"
            r"|\bblocked\b.{0,40}\b(ip|host)\b|not authori[sz]ed to send|\bdkim\b"
            r"|from this ip|ip address.{0,40}(block|reject|not accepted|denied)",
        ),
    ),
    Rule(
        CONTENT_REJECTED,
        "7.1",
        (
            r"spam|virus|malware|infected|phish|content|suspicious|junk"
            r"|bulk (e-?)?mail|unsolicited|dangerous|attachment|message (looks|appears)"
            r"|(message|mail) (was )?(rejected|blocked|refused) (as|because|due)",
        ),
    ),
    Rule(
        POLICY,
        "7.1",
        (
            r"relay|authenticat|access denied|permission denied|not authori[sz]ed"
            r"|administrative prohibition|polic|prohibit|not allowed|refused|denied"
            r"|rejected by|restricted|blocked|forbidden|not accepting (mail|messages)"
            r" from",
        ),
    ),
    # Exim: "retry time not reached for any host ... after a long failure period".
    Rule(
        TEMPORARY,
        "4.7",
        (
            r"expired|too long|time exceeded|retry timeout|gave up|long failure period"
            r"|retry time not reached",
        ),
    ),
    Rule(
        TEMPORARY,
        "0.0",
        (
            r"try again|temporar|deferr|delayed|will (be )?retr|greylist|graylist"
            r"|still trying|service (not |un)available|resources|retry",
        ),
        vetoes=TRY_AGAIN_ADVICE,
    ),
)
_BY_REASON = {reason: [r for r in RULES if r.reason == reason] for reason in PRECEDENCE}
RULES_IN_ORDER = tuple(rule for reason in PRECEDENCE for rule in _BY_REASON[reason])
_INDEX = RuleIndex(RULES_IN_ORDER)
# As ``status.STATUS_RE``: the digit first, then what precedes it.
_STATUS_RE = re.compile(r"[245](?<![\d.].)\.(\d{1,3})\.\d{1,3}(?!\.?\d)")


# Passed as ``stage`` when the caller already knows the text names none.
NO_STAGE = "-"


class Match(NamedTuple):
    """The reason a text names, and the ``subject.detail`` that goes with it."""

    reason: str
    detail: str


_FILTER_PRODUCT_RE = re.compile(rf"\b(?:{'|'.join(FILTER_PRODUCTS)})")


# A scanning banner ("... scanned for viruses by <product>") names a product
# on every message it passes, failed or not. Matched in lowercased text.
_BANNER_RE = re.compile(SCANNING_BANNER)


def is_scanning_banner(line: str) -> bool:
    """True when ``line`` is (part of) a banner a scanning service or a
    company appends to every message it passes: never a failure's reason."""
    return _BANNER_RE.search(line.lower()) is not None


def names_filtering_gateway(text: str) -> bool:
    """True when ``text`` names a content-filtering gateway or product (not
    in a scanning banner)."""
    lowered = text[:2000].lower()
    # Most texts name no product at all: the banners are looked at only then.
    if not _FILTER_PRODUCT_RE.search(lowered):
        return False
    return bool(_FILTER_PRODUCT_RE.search(_without_banners(lowered)))


def _without_banners(lowered: str) -> str:
    """``lowered`` less each banner's sentence: from the line's start or the
    last full stop before the banner's words to the end of their line."""
    match = _BANNER_RE.search(lowered)
    while match is not None:
        start = 1 + max(
            lowered.rfind(".", 0, match.start()), lowered.rfind("\n", 0, match.start())
        )
        end = lowered.find("\n", match.end())
        lowered = lowered[:start] + " " + (lowered[end:] if end >= 0 else "")
        match = _BANNER_RE.search(lowered, start + 1)
    return lowered


# Compiled here, not by ``re.search`` on each call: a worker's pattern cache
# is shared with everything else it runs, and the benchmark clears it.
_TRY_AGAIN_ADVICE_RES = tuple(re.compile(p) for p in TRY_AGAIN_ADVICE)


def is_try_again_advice(text: str) -> bool:
    """True when "try again" in ``text`` tells a person to fix the address."""
    lowered = text.lower()
    return any(pattern.search(lowered) for pattern in _TRY_AGAIN_ADVICE_RES)


# Answers of ``match_reason`` while one message is classified: its readers ask
# about the same lines more than once (a DSN's diagnostic, a notice's lines).
# Kept only for that message, so no answer outlives it.
_ANSWERS: ContextVar[dict[tuple, Match | None] | None] = ContextVar(
    "reason_answers", default=None
)


@contextmanager
def answers_remembered() -> Iterator[None]:
    """Within the block, ``match_reason`` answers each question once."""
    token = _ANSWERS.set({})
    try:
        yield
    finally:
        _ANSWERS.reset(token)


def match_reason(
    text: str | None,
    *,
    status: str | None = None,
    stage: str | None = None,
    context: str = "",
    stage_text: str | None = None,
) -> Match | None:
    """The reason ``text`` names, given the status and SMTP stage when known.

    ``status`` is the RFC 3463 code that goes with the text (the DSN field or
    one quoted in it); ``stage`` is read from the text when not given, or
    from ``stage_text`` (lowercase) when that is given (a relay's whole
    reply, around the remote server's own that ``text`` is).
    ``context`` is what the notice says around the reply (its sender, its
    reporting MTA, its opening words): it can supply a rule's required
    words (the filtering gateway that sent it), never its phrases.
    """
    if not text:
        return None
    answers = _ANSWERS.get()
    if answers is None:
        return _match_reason(text, status, stage, context, stage_text)
    key = (text, status, stage, context, stage_text)
    if key not in answers:
        answers[key] = _match_reason(text, status, stage, context, stage_text)
    return answers[key]


def _match_reason(
    text: str,
    status: str | None,
    stage: str | None,
    context: str,
    stage_text: str | None = None,
) -> Match | None:
    text = text[:2000].lower()
    starts = word_starts(text)
    # Every phrase, English or not, opens with a word character: a text
    # without one (a blank line, a rule of dashes) names no reason.
    if not starts:
        return None
    context = context[:2000].lower()
    if status is None:
        found = _STATUS_RE.search(text)
        subject = found.group(1) if found else ""
    else:
        subject = status.split(".")[1] if status.count(".") == 2 else ""
    read: str | LazyStage | None = stage
    if stage is None:
        read = LazyStage(text if stage_text is None else stage_text)
    elif stage == NO_STAGE:
        read = None
    # Only the rules whose phrases can start in the text are tried.
    rule = _INDEX.first(text, starts, read, subject, context)
    if rule is not None:
        return Match(rule.reason, rule.detail)
    local = reasons_local.match_local(text, starts)
    return Match(*local) if local else None
