"""One count at a time for a figure kept in the cache.

When a kept figure is missing (it aged out, or the cache was emptied), every
request that wants it at that moment would count it at once: eight people on
the dashboard cost eight scans of the same ten thousand rows, each slower for
the other seven. ``lead_or_wait`` lets the first of them count while the others
wait, without using the CPU, for what it keeps, then read it from the cache.
"""

import logging
import time
from collections.abc import Callable
from typing import TypeVar

import redis
from django.core.cache import cache

logger = logging.getLogger(__name__)

T = TypeVar("T")

# Longer than a count takes; the lock is deleted as soon as the count is kept,
# and outlives a process that died counting by this long at most.
LOCK_SECONDS = 10
# How long a request waits for another's count before it counts itself: long
# enough for a count on a loaded machine (the waiters counting too would only
# slow the one they wait for), short enough that a lock left by a process that
# died costs a view seconds, not the page.
WAIT_SECONDS = 5.0
# The first look after this long, each next one after twice the last, up to the
# most: a count of a few milliseconds is seen at once, a slow one costs the
# waiters a few dozen cache reads, not hundreds.
POLL_FIRST_SECONDS = 0.005
POLL_MOST_SECONDS = 0.1


def lead_or_wait(lock: str, *, wait: float = WAIT_SECONDS) -> bool:
    """True when this caller takes ``lock`` and should count (and then call
    ``release(lock)``); False once another caller that held it has finished or
    ``wait`` seconds have passed, the caller then reading what was kept and
    counting whatever is still missing. Redis down: True (every caller counts,
    and nothing is kept anyway)."""
    try:
        if cache.add(lock, 1, LOCK_SECONDS):
            return True
        deadline = time.monotonic() + wait
        pause = POLL_FIRST_SECONDS
        while time.monotonic() < deadline:
            time.sleep(pause)
            if cache.get(lock) is None:
                break
            pause = min(pause * 2, POLL_MOST_SECONDS)
    except redis.exceptions.RedisError:
        return True
    return False


def release(lock: str) -> None:
    try:
        cache.delete(lock)
    except redis.exceptions.RedisError:
        logger.warning("count lock %s left to expire", lock)


def kept_or_counted(key: str, count: Callable[[], T], seconds: int) -> T:
    """What the cache keeps under ``key``, or else ``count()`` made by one
    caller at a time and kept for ``seconds``; the callers that waited read it.
    Redis down: counted by every caller, kept by none."""
    try:
        kept = cache.get(key)
    except redis.exceptions.RedisError:
        return count()
    if kept is not None:
        return kept
    lock = f"{key}:counting"
    leading = lead_or_wait(lock)
    try:
        if not leading:
            try:
                kept = cache.get(key)
            except redis.exceptions.RedisError:
                kept = None
            if kept is not None:
                return kept
        found = count()
        try:
            cache.set(key, found, seconds)
        except redis.exceptions.RedisError:
            pass  # shown uncached: the next caller counts again
        return found
    finally:
        if leading:
            release(lock)
