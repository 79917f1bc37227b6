"""Reports filed through the public form (``/report/``).

A web report takes the same path as any complaint mail (DESIGN.md): the form's
fields become one RFC 5322 message, which ``inbound_store`` commits and the worker
parses, links and records. This module owns:

- building that message: ``From`` the complainant, a text part with what
  happened, and the reported message attached as ``message/rfc822`` (an uploaded
  .eml, kept byte for byte) or ``text/rfc822-headers`` (pasted headers), so the
  parser sees a forwarded complaint with the original headers;
- the reference: the complaint row is created later by the worker, but the person
  needs the reference now, so it is drawn here and sent in the
  ``X-Abuse-Desk-Reference`` header (and in the Message-ID, which the status page
  uses while the message waits in the queue);
- flagging headers that cannot be read: they are stored all the same, marked with
  ``X-Abuse-Desk-Flag: malformed-headers``, and pasted into the text part, where
  the parser still looks for a header block;
- recognising the same report filed twice, and the per-IP and per-address rate
  limits, both kept in the default cache.
"""

import hashlib
import logging
import re
import secrets
import textwrap
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime

import redis
from django.conf import settings
from django.core.cache import caches
from django.db import IntegrityError, transaction
from django.db.models import F

from complaints.ingest.webform import WITHOUT_EVIDENCE, WITHOUT_EVIDENCE_HEADER
from complaints.models import InboundMessage, RateLimitCount
from complaints.services.ingest import inbound_store
from complaints.services.recording import reference_new

logger = logging.getLogger(__name__)

REFERENCE_HEADER = "X-Abuse-Desk-Reference"
FLAG_HEADER = "X-Abuse-Desk-Flag"
MALFORMED_FLAG = "malformed-headers"
# The Message-ID of a web report is <REFERENCE@MESSAGE_ID_DOMAIN>.
MESSAGE_ID_DOMAIN = "web-form.abuse-desk.invalid"
# Limits of the public pages, per hour. A person filing a few reports stays far
# below them; a script filling the queue does not.
REPORTS_PER_IP_PER_HOUR = 20
REPORTS_PER_EMAIL_PER_HOUR = 10
STATUS_LOOKUPS_PER_IP_PER_HOUR = 60
RATE_WINDOW_SECONDS = 3600
# An identical report from the same address within this time is the same report.
DUPLICATE_WINDOW_SECONDS = 24 * 3600

_HEADER_NAME = re.compile(rb"^[\x21-\x39\x3b-\x7e]+[ \t]*:")
_KNOWN_HEADERS = (b"received", b"from", b"message-id", b"date", b"return-path")


@dataclass(frozen=True)
class Submission:
    """What the complainant gave, already validated by the form."""

    email: str
    what_happened: str
    name: str = ""
    pasted_headers: str = ""
    eml: bytes = b""

    @property
    def has_evidence(self) -> bool:
        """False for a description alone: the person could not get the message."""
        return bool(self.eml or self.pasted_headers.strip())

    @property
    def reported(self) -> bytes:
        """The reported message as given: the .eml, or the pasted headers."""
        return self.eml or _normalize_paste(self.pasted_headers).encode()


@dataclass(frozen=True)
class FiledReport:
    reference: str
    inbound_id: int | None
    is_repeat: bool = False
    is_flagged: bool = False


def report_file(*, submission: Submission, now: datetime) -> FiledReport:
    """Store a web report as an inbound message and return its reference.

    Side effects: one InboundMessage on channel ``web_form``, committed, with its
    processing enqueued after the commit (see ``inbound_store``); the report's
    fingerprint in the cache for a day. The same report from the same address
    within that day stores nothing and returns the earlier reference.
    """
    fingerprint = report_fingerprint(submission=submission)
    earlier = _cache_get(fingerprint)
    if earlier is not None:
        logger.info("web report repeated; earlier reference kept")
        return FiledReport(reference=earlier, inbound_id=None, is_repeat=True)
    reference = reference_new()
    problems = header_problems(submission.reported) if submission.has_evidence else []
    raw = report_message_build(
        submission=submission, reference=reference, now=now, problems=problems
    )
    inbound, _ = inbound_store(raw=raw, channel=InboundMessage.Channel.WEB_FORM)
    _cache_set(fingerprint, reference)
    logger.info(
        "web report stored as inbound %s (flagged=%s)", inbound.pk, bool(problems)
    )
    return FiledReport(
        reference=reference, inbound_id=inbound.pk, is_flagged=bool(problems)
    )


def _cache_get(fingerprint: str) -> str | None:
    # Without Redis a repeat is stored again: the worker's duplicate rule still
    # keeps it from counting twice, and losing a report would be worse.
    try:
        return caches["default"].get(fingerprint)
    except redis.exceptions.RedisError:
        logger.warning("repeat check skipped: Redis is down")
        return None


def _cache_set(fingerprint: str, reference: str) -> None:
    try:
        caches["default"].set(fingerprint, reference, DUPLICATE_WINDOW_SECONDS)
    except redis.exceptions.RedisError:
        logger.warning("repeat check not recorded: Redis is down")


def report_fingerprint(*, submission: Submission) -> str:
    """A cache key for "this message, reported by this address"."""
    digest = hashlib.sha256(submission.reported).hexdigest()
    owner = hashlib.sha256(submission.email.strip().lower().encode()).hexdigest()
    return f"web-report:seen:{owner}:{digest}"


def report_message_build(
    *, submission: Submission, reference: str, now: datetime, problems: list[str]
) -> bytes:
    """The raw RFC 5322 message for a web report (CRLF line ends).

    The reported message is attached; pasted headers that cannot be read are put
    in the text part instead, after the complainant's words, so that nothing given
    is lost. ``problems`` (from ``header_problems``) flag the message for staff.
    """
    boundary = _boundary(submission.reported)
    head = EmailMessage(policy=SMTP)
    head["From"] = Address(display_name=submission.name, addr_spec=submission.email)
    head["To"] = settings.ABUSE_FROM_EMAIL
    head["Subject"] = f"Spam complaint filed on the web form [{reference}]"
    head["Date"] = format_datetime(now)
    head["Message-ID"] = report_message_id(reference=reference)
    head[REFERENCE_HEADER] = reference
    if problems:
        head[FLAG_HEADER] = MALFORMED_FLAG
    if not submission.has_evidence:
        head[WITHOUT_EVIDENCE_HEADER] = WITHOUT_EVIDENCE
    head["MIME-Version"] = "1.0"
    head["Content-Type"] = f'multipart/mixed; boundary="{boundary}"'
    # Pasted headers that cannot be read go into the text part instead, where
    # the parser still looks for a header block; an upload is always attached.
    is_pasted_inline = bool(problems) and not submission.eml
    parts = [_text_part(submission, inline=is_pasted_inline, problems=problems)]
    if not is_pasted_inline and submission.has_evidence:
        parts.append(_original_part(submission))
    delimiter = b"--" + boundary.encode()
    headers = b"".join(head.policy.fold_binary(k, v) for k, v in head.items())
    body = b"".join(delimiter + b"\r\n" + part + b"\r\n" for part in parts)
    return headers + b"\r\n" + body + delimiter + b"--\r\n"


def report_message_id(*, reference: str) -> str:
    return f"<{reference}@{MESSAGE_ID_DOMAIN}>"


def _text_part(submission: Submission, *, inline: bool, problems: list[str]) -> bytes:
    text = submission.what_happened.strip() + "\n"
    if inline:
        text += (
            "\n-- The headers below were given with the report but could not be"
            f" read ({'; '.join(problems)}). --\n\n"
            + submission.reported.decode("utf-8", "replace")
            + "\n"
        )
    part = EmailMessage(policy=SMTP)
    part.set_content(text)
    del part["MIME-Version"]
    return part.as_bytes()


def _original_part(submission: Submission) -> bytes:
    if submission.eml:
        head = (
            "Content-Type: message/rfc822\r\n"
            'Content-Disposition: attachment; filename="reported.eml"\r\n'
            "Content-Transfer-Encoding: 8bit\r\n\r\n"
        )
        # Byte for byte: evidence is never re-encoded.
        return head.encode() + submission.eml.rstrip(b"\r\n")
    part = EmailMessage(policy=SMTP)
    part.set_content(
        _normalize_paste(submission.pasted_headers),
        subtype="rfc822-headers",
        disposition="inline",
    )
    del part["MIME-Version"]
    return part.as_bytes()


def _boundary(content: bytes) -> str:
    while True:
        boundary = f"=_web_report_{secrets.token_hex(12)}"
        if boundary.encode() not in content:
            return boundary


def _normalize_paste(text: str) -> str:
    # Copying from a web mail page often indents every line or adds blank lines
    # at the top; the header block must start at the first column.
    lines = text.replace("\r\n", "\n").replace("\r", "\n").strip("\n")
    return textwrap.dedent(lines).strip("\n") + "\n"


def header_problems(data: bytes) -> list[str]:
    """Why a header block (or a whole message) cannot be read as headers; empty
    when it can. Pure: a first line that is not a header, a line in the block
    that is neither a header nor a continuation, or no identifying header."""
    data = data.lstrip(b"\r\n")
    if data.startswith(b"From "):  # an mbox separator line, as some clients save
        data = data.partition(b"\n")[2]
    block = re.split(rb"\r?\n\r?\n", data, maxsplit=1)[0]
    lines = block.splitlines()
    if not lines or not _HEADER_NAME.match(lines[0]):
        return ["it does not start with a header line"]
    problems = []
    for number, line in enumerate(lines, start=1):
        if not line.strip() or line[:1] in (b" ", b"\t"):
            continue
        if not _HEADER_NAME.match(line):
            problems.append(f"line {number} is not a header")
            break
    names = {line.split(b":", 1)[0].strip().lower() for line in lines if b":" in line}
    if not names.intersection(_KNOWN_HEADERS):
        problems.append("no Received, From, Message-ID or Date header")
    return problems


def rate_limit_hit(*, scope: str, key: str, limit: int, now: datetime) -> bool:
    """Count one use of ``scope`` by ``key`` in the current hour; True once the
    count passes ``limit``. Fixed one-hour windows in the default cache; the key
    is hashed so the cache holds no address in clear.

    With Redis unreachable the page must still work (a complainant never sees
    an error or loses a report), so the count moves to the database, against
    half the limit: a conservative bound while the usual store is away."""
    window = int(now.timestamp()) // RATE_WINDOW_SECONDS
    digest = hashlib.sha256(key.strip().lower().encode()).hexdigest()[:32]
    cache_key = f"web-report:rate:{scope}:{digest}:{window}"
    try:
        count = _cache_count(cache_key)
    except redis.exceptions.RedisError:
        logger.warning("rate limit %s counted in the database: Redis is down", scope)
        return _database_count(cache_key, now) > max(1, limit // 2)
    return count > limit


def _cache_count(cache_key: str) -> int:
    cache = caches["default"]
    cache.add(cache_key, 0, RATE_WINDOW_SECONDS + 60)
    try:
        return cache.incr(cache_key)
    except ValueError:
        # The entry expired between add and incr: this is the first use.
        cache.set(cache_key, 1, RATE_WINDOW_SECONDS + 60)
        return 1


def _database_count(cache_key: str, now: datetime) -> int:
    rows = RateLimitCount.objects.filter(key=cache_key)
    if not rows.update(count=F("count") + 1):
        RateLimitCount.objects.filter(expires_at__lt=now).delete()
        try:
            with transaction.atomic():
                RateLimitCount.objects.create(
                    key=cache_key,
                    count=1,
                    expires_at=now + timedelta(seconds=RATE_WINDOW_SECONDS + 60),
                )
            return 1
        except IntegrityError:  # another request created it meanwhile
            rows.update(count=F("count") + 1)
    return rows.values_list("count", flat=True).first() or 1
