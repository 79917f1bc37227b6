"""Pagination for tables that grow without bound.

Counting a million complaints costs more than showing fifty of them, and nobody
pages past a few thousand rows: they refine the filters. ``CappedPaginator``
counts at most ``cap`` rows (one indexed LIMIT query) and says "more than" beyond.
"""

import hashlib
import json
import logging
from base64 import urlsafe_b64decode, urlsafe_b64encode
from dataclasses import dataclass
from datetime import datetime

import redis
from django.conf import settings
from django.core.cache import cache
from django.core.paginator import Paginator
from django.db import connections
from django.db.models import BooleanField, Expression, F, Value
from django.http import QueryDict
from django.utils.functional import cached_property

from abusedesk import counting

logger = logging.getLogger(__name__)


def capped_count(queryset, *, cap: int) -> int:
    """COUNT over a LIMIT of bare ids: the scan stops after cap + 1 rows.

    A count past the cap is kept in the cache for ABUSE_CAPPED_COUNT_SECONDS,
    by its query: "more than 10,000" stays true for that long whatever arrives,
    and scanning those ten thousand rows (cold, on a table not yet vacuumed,
    each a heap visit) was most of a list page's or the dashboard's database
    time. A count under the cap is exact and never kept, so it is always the
    table as it is now."""
    return capped_counts({"count": queryset}, cap=cap)["count"]


def capped_counts(querysets: dict, *, cap: int) -> dict:
    """``capped_count`` of each queryset, by the same names: the kept counts
    read from the cache in one round trip (the dashboard shows six), each query
    compiled once, for its key and for its count, and those not kept counted in
    one statement.

    While one process counts queries that may be past the cap (none kept, and
    not found under it lately), another asking for the same ones waits for it
    (``abusedesk.counting``) and reads what it kept, rather than scan the same ten
    thousand rows beside it; a query found under the cap is marked so (by its
    text, for ABUSE_CAPPED_COUNT_SECONDS), and counted at once by everyone."""
    statements = {}
    for name, queryset in querysets.items():
        limited = queryset.order_by().values("pk")[: cap + 1]
        sql, params = limited.query.get_compiler(using=limited.db).as_sql()
        statements[name] = (limited.db, sql, params)
    seconds = settings.ABUSE_CAPPED_COUNT_SECONDS
    keys = {
        name: "capped-count:" + _digest((db, cap, sql, params))
        for name, (db, sql, params) in statements.items()
    }
    # By the query's text without its values (a cutoff that moves with the
    # clock is the same query).
    under = {
        name: "capped-under:" + _digest((db, cap, sql))
        for name, (db, sql, _params) in statements.items()
    }
    found = _cached({**keys, **{f"under:{n}": k for n, k in under.items()}}, seconds)
    if found is None:
        return _count(statements)
    counts = {name: found[name] for name in statements if name in found}
    missing = [name for name in statements if name not in counts]
    unknown = [name for name in missing if f"under:{name}" not in found]
    lock = "capped-counting:" + _digest(sorted(under[name] for name in unknown))
    leading = bool(unknown) and counting.lead_or_wait(lock)
    if unknown and not leading:
        counts.update(_cached({name: keys[name] for name in missing}, seconds) or {})
        missing = [name for name in missing if name not in counts]
    try:
        counted = _count({name: statements[name] for name in missing})
        keep = {keys[name]: n for name, n in counted.items() if n > cap}
        keep.update(
            {under[name]: 1 for name in unknown if counted.get(name, cap + 1) <= cap}
        )
        if keep:
            try:
                cache.set_many(keep, seconds)
            except redis.exceptions.RedisError:
                logger.warning("capped counts not cached: Redis is down")
    finally:
        if leading:
            counting.release(lock)
    return {name: counts.get(name, counted.get(name)) for name in statements}


def _digest(value) -> str:
    return hashlib.sha256(repr(value).encode()).hexdigest()


def _cached(keys: dict, seconds: int) -> dict | None:
    """What the cache holds of ``keys`` (name: cache key), by name; None when
    counts are not kept (ABUSE_CAPPED_COUNT_SECONDS is 0, or Redis is down)."""
    if not seconds:
        return None
    try:
        found = cache.get_many(list(keys.values()))
    except redis.exceptions.RedisError:
        logger.warning("capped counts not cached: Redis is down")
        return None
    return {name: found[key] for name, key in keys.items() if key in found}


def _count(statements: dict) -> dict:
    """COUNT(*) of each (db, sql, params) statement, by name: one statement per
    database, every count a scalar subquery of it (one round trip, one parse)."""
    counts = {}
    by_db = {}
    for name, (db, sql, params) in statements.items():
        by_db.setdefault(db, []).append((name, sql, params))
    for db, rows in by_db.items():
        columns = ", ".join(
            f"(SELECT COUNT(*) FROM ({sql}) subquery)"  # noqa: S608  (Django's own compiled SQL)
            for _name, sql, _params in rows
        )
        with connections[db].cursor() as cursor:
            cursor.execute(
                f"SELECT {columns}",  # noqa: S608  (the subqueries above)
                [value for _name, _sql, params in rows for value in params],
            )
            values = cursor.fetchone()
        counts.update(
            (name, value)
            for (name, _sql, _params), value in zip(rows, values, strict=True)
        )
    return counts


class CappedPaginator(Paginator):
    def __init__(self, object_list, per_page, *, cap: int = 10_000, **kwargs):
        super().__init__(object_list, per_page, **kwargs)
        self.cap = cap

    @cached_property
    def count(self) -> int:
        return capped_count(self.object_list, cap=self.cap)

    @property
    def is_capped(self) -> bool:
        return self.count > self.cap

    @property
    def count_label(self) -> str:
        return f"more than {self.cap:,}" if self.is_capped else f"{self.count:,}"


# Keyset pagination -----------------------------------------------------------
#
# An OFFSET page makes the database walk every row before it: the last page of a
# sorted million-row queue costs as much as all pages together. A keyset page
# starts from the sort key of the row before it (``after``) or after it
# (``before``), a range on the sort's index, so every page costs what the first
# does. A person still gets first, previous, next and last, and the capped count
# says how many rows there are; page numbers are not offered, since knowing
# which page a row is on would need the very walk this avoids.

CURSOR_PARAMS = ("after", "before", "last", "page")


class RowCompare(Expression):
    """``(a, b, c) > (x, y, z)``: a row comparison, which PostgreSQL reads as a
    range on an index over (a, b, …) (and SQLite as row values)."""

    conditional = True
    output_field = BooleanField()

    def __init__(self, names: list[str], values: list, operator: str):
        super().__init__()
        self.left = [F(name) for name in names]
        self.values = list(values)
        self.operator = operator

    def get_source_expressions(self):
        return self.left

    def set_source_expressions(self, exprs):
        self.left = list(exprs)

    def as_sql(self, compiler, connection):
        left_sql, right_sql, params = [], [], []
        for expression in self.left:
            sql, expression_params = compiler.compile(expression)
            left_sql.append(sql)
            params.extend(expression_params)
        for expression, value in zip(self.left, self.values, strict=True):
            sql, value_params = compiler.compile(
                Value(value, output_field=expression.output_field)
            )
            right_sql.append(sql)
            params.extend(value_params)
        return (
            f"({', '.join(left_sql)}) {self.operator} ({', '.join(right_sql)})",
            params,
        )


@dataclass(frozen=True)
class _Segment:
    """Part of the order: the rows whose first key is null, or those where it is
    not (a row comparison with a null is never true, so each is read alone)."""

    keys: list[str]
    filter: dict


@dataclass
class KeysetPage:
    object_list: list
    paginator: "KeysetPaginator"
    has_previous: bool
    has_next: bool
    query: QueryDict

    def __iter__(self):
        return iter(self.object_list)

    def __len__(self) -> int:
        return len(self.object_list)

    def has_other_pages(self) -> bool:
        return self.has_previous or self.has_next

    def _link(self, **params) -> str:
        query = self.query.copy()
        for name in CURSOR_PARAMS:
            query.pop(name, None)
        for name, value in params.items():
            query[name] = value
        return f"?{query.urlencode()}"

    @property
    def first_link(self) -> str:
        return self._link()

    @property
    def last_link(self) -> str:
        return self._link(last="1")

    @property
    def previous_link(self) -> str:
        return self._link(before=self.paginator.cursor_of(self.object_list[0]))

    @property
    def next_link(self) -> str:
        return self._link(after=self.paginator.cursor_of(self.object_list[-1]))


class KeysetPaginator:
    """Pages of ``queryset`` in the order of ``keys`` (field or annotation
    names, all ascending or all descending, the last one unique, e.g.
    ``["-received_at", "-pk"]``); only the first key may be nullable (nulls come
    last ascending and first descending, as PostgreSQL's indexes give them)."""

    def __init__(
        self,
        queryset,
        *,
        keys: list[str],
        per_page: int,
        nullable_first_key: bool = False,
        cap: int = 10_000,
    ):
        directions = {key.startswith("-") for key in keys}
        if len(directions) != 1:
            raise ValueError("Keyset keys must all run the same way.")
        self.queryset = queryset
        self.descending = directions.pop()
        self.names = [key.lstrip("-") for key in keys]
        self.per_page = per_page
        self.nullable_first_key = nullable_first_key
        self.counter = CappedPaginator(queryset, per_page, cap=cap)

    @property
    def count(self) -> int:
        return self.counter.count

    @property
    def is_capped(self) -> bool:
        return self.counter.is_capped

    @property
    def count_label(self) -> str:
        return self.counter.count_label

    def cursor_of(self, row) -> str:
        values = [_encode_value(getattr(row, name)) for name in self.names]
        return urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")

    def _decode(self, cursor: str) -> list | None:
        try:
            padded = cursor + "=" * (-len(cursor) % 4)
            values = json.loads(urlsafe_b64decode(padded.encode()))
        except (ValueError, TypeError):
            return None
        if not isinstance(values, list) or len(values) != len(self.names):
            return None
        try:
            return [_decode_value(value) for value in values]
        except (ValueError, TypeError):
            return None

    def get_page(self, query: QueryDict) -> KeysetPage:
        """The page ``query`` asks for (``after``, ``before``, ``last``); the
        first page when it asks for none or its cursor is not one of ours."""
        n = self.per_page
        if query.get("last"):
            rows = self._fetch(cursor=None, forward=False, limit=n + 1)
            return self._page(
                rows[:n][::-1], query, previous=len(rows) > n, next_=False
            )
        for name, forward in (("after", True), ("before", False)):
            cursor = self._decode(query.get(name, "")) if query.get(name) else None
            if cursor is None:
                continue
            rows = self._fetch(cursor=cursor, forward=forward, limit=n + 1)
            more = len(rows) > n
            if forward:
                if not rows:
                    break
                return self._page(rows[:n], query, previous=True, next_=more)
            if not more:
                # Back at the start: the first page, whole.
                break
            return self._page(rows[:n][::-1], query, previous=True, next_=True)
        rows = self._fetch(cursor=None, forward=True, limit=n + 1)
        return self._page(rows[:n], query, previous=False, next_=len(rows) > n)

    def neighbours(self, row) -> tuple[object | None, object | None]:
        """The rows just before and just after ``row`` in this order (``row``
        itself need not pass the queryset's filters): two indexed lookups,
        wherever ``row`` stands."""
        cursor = [getattr(row, name) for name in self.names]
        before = self._fetch(cursor=cursor, forward=False, limit=1)
        after = self._fetch(cursor=cursor, forward=True, limit=1)
        return (before[0] if before else None), (after[0] if after else None)

    def _page(self, rows, query, *, previous: bool, next_: bool) -> KeysetPage:
        return KeysetPage(rows, self, previous, next_, query)

    def _segments(self) -> list[_Segment]:
        if not self.nullable_first_key:
            return [_Segment(self.names, {})]
        first = self.names[0]
        present = _Segment(self.names, {f"{first}__isnull": False})
        absent = _Segment(self.names[1:], {f"{first}__isnull": True})
        return [absent, present] if self.descending else [present, absent]

    def _fetch(self, *, cursor: list | None, forward: bool, limit: int) -> list:
        segments = self._segments() if forward else self._segments()[::-1]
        if cursor is not None and self.nullable_first_key:
            # Start in the cursor's own segment: the null one when its first
            # key is null, else the other.
            is_null = cursor[0] is None
            segments = segments[
                [_is_null_segment(s) for s in segments].index(is_null) :
            ]
        descending = self.descending != (not forward)
        rows: list = []
        for index, segment in enumerate(segments):
            queryset = self.queryset.filter(**segment.filter)
            if cursor is not None and index == 0:
                values = cursor[len(self.names) - len(segment.keys) :]
                operator = "<" if descending else ">"
                queryset = queryset.filter(RowCompare(segment.keys, values, operator))
            order = [f"-{name}" if descending else name for name in segment.keys]
            rows.extend(queryset.order_by(*order)[: limit - len(rows)])
            if len(rows) >= limit:
                break
        return rows


def _is_null_segment(segment: _Segment) -> bool:
    return any(segment.filter.values())


def _encode_value(value):
    if isinstance(value, datetime):
        return {"t": value.isoformat()}
    return value


def _decode_value(value):
    if isinstance(value, dict):
        return datetime.fromisoformat(value["t"])
    if value is None or isinstance(value, int | str):
        return value
    raise ValueError("not a cursor value")
