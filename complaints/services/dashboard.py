"""Keeps the dashboard's per-day counts (DailyReportCount) so the chart never
counts a month of rows while a person waits.

A closed day is counted once, when the dashboard first shows it, in one grouped
query over a range of the indexed ``received_at``; afterwards at most one day
older than ABUSE_DASHBOARD_RECOUNT_MINUTES is counted again per dashboard view
that takes its turn (``report_recount_turn``: one view in every
ABUSE_DASHBOARD_RECOUNT_MINUTES / 29 for the 30-day chart, so that a run of days
that came due together costs one view a count, not the next 29 views), which
picks up a message of that day processed late (a failed one reprocessed, a
retried one). Today is never stored: the selector counts it live. Safe to run
any number of times, from any number of web processes at once: every write is
an upsert of the same figures, and while one process counts, the others' views
skip the counting (a lock in the cache) rather than count the same day beside
it: eight people on the dashboard cost one count, not eight at once.
"""

import logging
from datetime import date, datetime, timedelta

import redis
from django.conf import settings
from django.core.cache import cache
from django.db.models import Count
from django.db.models.functions import TruncDate
from django.utils import timezone

from complaints.models import Bounce, Complaint, DailyReportCount
from complaints.selectors import day_start

logger = logging.getLogger(__name__)

# Longer than any count takes; the lock is deleted as soon as the count is kept.
COUNTING_LOCK_SECONDS = 60


def report_recount_turn(*, days: int) -> bool:
    """Whether this dashboard view takes the turn to recount a stale day: one
    view per ABUSE_DASHBOARD_RECOUNT_MINUTES / (days - 1), across every web
    process, so the kept days are still recounted in turn about every
    ABUSE_DASHBOARD_RECOUNT_MINUTES, while the views in between (and the views
    right after a run of days came due together) pay no count. Redis down:
    every view takes it, as before."""
    seconds = settings.ABUSE_DASHBOARD_RECOUNT_MINUTES * 60 / max(days - 1, 1)
    if seconds < 1:
        return True
    key = f"dashboard-recount-turn:{timezone.get_current_timezone_name()}"
    try:
        return bool(cache.add(key, 1, int(seconds)))
    except redis.exceptions.RedisError:
        return True


def report_days_refresh(
    *, today: date, days: int, now: datetime, recount_stale: bool = True
) -> int:
    """Count the closed days of the last ``days`` (to yesterday) that have no
    row yet, and (with ``recount_stale``) recount the stalest one that is due.
    Returns the days counted."""
    zone = timezone.get_current_timezone_name()
    first = today - timedelta(days=days - 1)
    counted = dict(
        DailyReportCount.objects.filter(
            time_zone=zone, day__gte=first, day__lt=today
        ).values_list("day", "counted_at")
    )
    closed = [first + timedelta(days=n) for n in range(days - 1)]
    missing = [day for day in closed if day not in counted]
    due_before = now - timedelta(minutes=settings.ABUSE_DASHBOARD_RECOUNT_MINUTES)
    stale = sorted((at, day) for day, at in counted.items() if at < due_before)
    if stale and recount_stale:
        missing.append(stale[0][1])
    if not missing:
        return 0
    lock = f"dashboard-counting:{zone}"
    try:
        if not cache.add(lock, 1, COUNTING_LOCK_SECONDS):
            return 0  # another view is counting; this one shows the kept rows
    except redis.exceptions.RedisError:
        logger.warning("dashboard days counted without the lock: Redis is down")
        lock = None
    try:
        _store(zone=zone, days=missing, now=now)
    finally:
        if lock is not None:
            try:
                cache.delete(lock)
            except redis.exceptions.RedisError:
                logger.warning("dashboard counting lock left to expire")
    return len(missing)


def _store(*, zone: str, days: list[date], now: datetime) -> None:
    start, end = day_start(min(days)), day_start(max(days) + timedelta(days=1))
    wanted = set(days)
    complaints = _per_day(Complaint.objects, start, end)
    bounces = _per_day(Bounce.objects, start, end)
    DailyReportCount.objects.bulk_create(
        [
            DailyReportCount(
                time_zone=zone,
                day=day,
                complaints=complaints.get(day, 0),
                bounces=bounces.get(day, 0),
                counted_at=now,
            )
            for day in sorted(wanted)
        ],
        update_conflicts=True,
        unique_fields=["time_zone", "day"],
        update_fields=["complaints", "bounces", "counted_at"],
    )


def _per_day(manager, start: datetime, end: datetime) -> dict[date, int]:
    rows = (
        manager.filter(received_at__gte=start, received_at__lt=end)
        .annotate(day=TruncDate("received_at"))
        .values("day")
        # COUNT(*), not COUNT(id): the time index alone answers it.
        .annotate(total=Count("*"))
        .order_by()
    )
    return {row["day"]: row["total"] for row in rows}
