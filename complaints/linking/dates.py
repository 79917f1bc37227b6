"""Reading the dates reports carry, strict and loose.

``parse_date`` reads RFC 5322 dates (Received stamps, Date, Arrival-Date) and
the loose forms mail clients write above an inline forward, in several
languages ("Fri, Sep 4, 2026 at 1:53 PM", "Friday, September 4, 2026 1:58
PM", "04.09.2026 um 13:53", "ven. 4 sept. 2026 à 13:53"). A date without a
zone is taken as UTC: a few hours off matters less than no date at all.
Never raises: an unreadable or absurd date is None.
"""

from __future__ import annotations

import email.utils
import functools
import re
import unicodedata
from datetime import UTC, datetime, timedelta, timezone

# Month names and abbreviations, by the letters they start with; "mar" is
# March in most languages here, "mai"/"mei"/"may" May, "dic"/"dez"/"dec".
_MONTHS = {
    1: ("jan", "ene", "gen", "tam", "sty"),
    2: ("feb", "fev", "fév", "helm", "lut"),
    3: ("mar", "mär", "maa", "mrt", "marz"),
    4: ("apr", "avr", "abr", "huht", "kwi"),
    5: ("may", "mai", "mag", "mei", "toukok", "maj"),
    6: ("jun", "juin", "giu", "kesä", "cze"),
    7: ("jul", "juil", "lug", "hei", "lip"),
    8: ("aug", "aoû", "aou", "ago", "elo", "sie", "agos"),
    9: ("sep", "set", "syys", "wrz"),
    10: ("oct", "okt", "ott", "out", "loka", "paź", "paz"),
    11: ("nov", "marras", "lis"),
    12: ("dec", "dez", "déc", "dic", "joulu", "gru"),
}
_WORD_RE = re.compile(r"[^\W\d_]+")
_TIME_RE = re.compile(
    r"(?<![\d.])(\d{1,2})[:h](\d{2})(?::(\d{2}))?(?!\d)\s*(a\.?\s?m\.?|p\.?\s?m\.?)?",
    re.I,
)
_NUMERIC_DATE_RE = re.compile(r"(?<!\d)(\d{1,4})([./-])(\d{1,2})\2(\d{2,4})(?!\d)")
_YEAR_RE = re.compile(r"(?<!\d)((?:19|20)\d{2})(?!\d)")
_DAY_RE = re.compile(r"(?<![\d:.])(\d{1,2})(?:st|nd|rd|th|er|\.)?(?![\d:])")
_ZONE_RE = re.compile(r"(?:(?<=\s)|^)(?:UTC|GMT)?([+-])(\d{2}):?(\d{2})(?!\d)")
# "[Fri, ]4 Sep 2026 13:53": the shape the strict reader is trusted with; it
# would misread "Sep 4, 2026 1:58 PM" (no AM/PM) rather than refuse it.
_RFC5322_SHAPE = re.compile(
    r"^\s*(?:[A-Za-z]{3},?\s*)?\d{1,2}\s+[A-Za-z]{3}\s+\d{2,4}\s+\d{1,2}:\d{2}"
    r"(?::\d{2})?(?!\s*[ap]\.?m\b)",
    re.I,
)
# Dates outside this range are forged or broken, never a reason to fail.
_EARLIEST = datetime(1990, 1, 1, tzinfo=UTC)
_LATEST = datetime(2200, 1, 1, tzinfo=UTC)


# Every report of a batch reads the same few Received stamps several times:
# remembered per process (bounded; datetimes are immutable).
@functools.lru_cache(maxsize=16384)
def parse_date(value: str | None) -> datetime | None:
    """An aware datetime for an RFC 5322 or loose client date, else None."""
    if not value or not value.strip():
        return None
    text = value.strip()[:200]
    # A date in the RFC 5322 shape that the strict reader refuses (an absurd
    # zone or year) is broken, not a client's loose form.
    when = _rfc5322(text) if _RFC5322_SHAPE.match(text) else _loose(text)
    try:
        # Comparing converts to UTC, which overflows for absurd years.
        if when is None or not (_EARLIEST <= when <= _LATEST):
            return None
    except OverflowError:
        return None
    return when


def _rfc5322(text: str) -> datetime | None:
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when is None:
        return None
    if when.tzinfo is None:
        # RFC 5322 "-0000": the zone is unknown; UTC is the best guess.
        when = when.replace(tzinfo=UTC)
    return when


def _month(word: str) -> int | None:
    folded = word.lower()
    if len(folded) < 3:
        return None
    for number, stems in _MONTHS.items():
        for stem in stems:
            if folded.startswith(stem) or (
                len(folded) >= 3 and stem.startswith(folded)
            ):
                return number
    plain = unicodedata.normalize("NFKD", folded).encode("ascii", "ignore").decode()
    if plain != folded:
        return _month(plain)
    return None


def _loose(text: str) -> datetime | None:
    """Day, month, year and time found anywhere in the text, in any order."""
    date = _numeric_date(text) or _named_date(text)
    if date is None:
        return None
    year, month, day = date
    hour, minute, second = _time_of_day(text)
    try:
        naive = datetime(year, month, day, hour, minute, second)  # noqa: DTZ001
    except ValueError:
        return None
    return naive.replace(tzinfo=_zone(text))


def _numeric_date(text: str) -> tuple[int, int, int] | None:
    match = _NUMERIC_DATE_RE.search(text)
    if not match:
        return None
    first, separator, middle, last = (
        match.group(1),
        match.group(2),
        int(match.group(3)),
        match.group(4),
    )
    if len(first) == 4:  # ISO 8601: 2026-09-04
        return int(first), middle, int(last)
    year = int(last) + (2000 if len(last) == 2 else 0)
    day, month = int(first), middle
    # "9/4/26" is the US order (month first) unless the first number cannot be
    # a month; dotted and dashed dates are day first.
    if separator == "/" and day <= 12:
        day, month = month, day
    return year, month, day


def _named_date(text: str) -> tuple[int, int, int] | None:
    month = None
    month_end = 0
    for match in _WORD_RE.finditer(text):
        month = _month(match.group(0))
        if month is not None:
            month_end = match.end()
            month_start = match.start()
            break
    if month is None:
        return None
    year_match = _YEAR_RE.search(text)
    if not year_match:
        return None
    day = None
    # The day stands just before the month ("4 sept.") or just after it
    # ("Sep 4, 2026"); never the year or a time.
    before = [m for m in _DAY_RE.finditer(text[:month_start]) if _is_day(m)]
    after = [m for m in _DAY_RE.finditer(text[month_end:]) if _is_day(m)]
    if before and month_start - before[-1].end() <= 3:
        day = int(before[-1].group(1))
    elif after:
        day = int(after[0].group(1))
    elif before:
        day = int(before[-1].group(1))
    if day is None or not 1 <= day <= 31:
        return None
    return int(year_match.group(1)), month, day


def _is_day(match: re.Match[str]) -> bool:
    return 1 <= int(match.group(1)) <= 31


def _time_of_day(text: str) -> tuple[int, int, int]:
    for match in _TIME_RE.finditer(text):
        hour, minute = int(match.group(1)), int(match.group(2))
        second = int(match.group(3) or 0)
        marker = (match.group(4) or "").lower().replace(".", "").replace(" ", "")
        if marker == "pm" and hour < 12:
            hour += 12
        elif marker == "am" and hour == 12:
            hour = 0
        if hour < 24 and minute < 60 and second < 60:
            return hour, minute, second
    return 12, 0, 0


def _zone(text: str) -> timezone:
    match = _ZONE_RE.search(text)
    if not match:
        return UTC
    sign = -1 if match.group(1) == "-" else 1
    hours, minutes = int(match.group(2)), int(match.group(3))
    if hours > 14 or minutes >= 60:
        return UTC
    return timezone(sign * timedelta(hours=hours, minutes=minutes))
