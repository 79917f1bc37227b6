"""Make a parsed ``Report`` safe to write to the database, in one place.

PostgreSQL refuses two things in ``text`` and ``varchar`` columns: the character
U+0000 (psycopg raises ``DataError`` for the whole statement, so one poisoned
field rolled back a whole batch) and text that is not valid UTF-8, which from
Python means lone surrogates (``surrogateescape`` leftovers of undecodable
bytes; the driver cannot encode them at all). Parsers may produce either from
hostile input, so the pipeline runs every report through ``report_db_safe``
between ``classify`` and recording instead of guarding each field where it is
written.

NUL becomes nothing (it carries no meaning in a header or a diagnostic) and a
lone surrogate becomes U+FFFD, the replacement character, so that a reader sees
that something was there. Pure: no ORM, no settings.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any, TypeVar

from .report import Report

_UNSAFE = re.compile("[\x00\ud800-\udfff]")
_T = TypeVar("_T")


def _replacement(match: re.Match[str]) -> str:
    return "" if match.group() == "\x00" else "\ufffd"


def text_db_safe(text: str) -> str:
    """``text`` without anything PostgreSQL refuses in a text column."""
    return _UNSAFE.sub(_replacement, text)


def _db_safe(value: Any) -> Any:
    if isinstance(value, str):
        # StrEnum members are str too: keep them as they are (their values are
        # the desk's own constants) so comparisons and ``is`` checks still hold.
        if type(value) is not str:
            return value
        return text_db_safe(value) if _UNSAFE.search(value) else value
    if isinstance(value, tuple):
        cleaned = tuple(_db_safe(v) for v in value)
        return value if cleaned == value else cleaned
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclass_db_safe(value)
    return value


def dataclass_db_safe(value: _T) -> _T:
    """A copy of a frozen dataclass with every string in it (in nested
    dataclasses and tuples too) made database-safe; ``value`` itself when
    nothing needed changing."""
    changes = {}
    for field in dataclasses.fields(value):  # type: ignore[arg-type]
        current = getattr(value, field.name)
        cleaned = _db_safe(current)
        if cleaned is not current:
            changes[field.name] = cleaned
    return dataclasses.replace(value, **changes) if changes else value  # type: ignore[type-var]


def report_db_safe(report: Report) -> Report:
    """The report, its original message and its recipients, database-safe."""
    return dataclass_db_safe(report)
