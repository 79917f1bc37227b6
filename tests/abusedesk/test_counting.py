"""One count at a time: the first caller leads, the others wait for it (not
longer than they are told), and with Redis down everyone counts."""

import threading
import time

import redis
from django.core.cache import cache

from abusedesk import counting


def test_the_first_caller_leads_and_the_next_waits_until_it_is_done():
    assert counting.lead_or_wait("test-lock") is True
    timer = threading.Timer(0.1, counting.release, args=["test-lock"])
    timer.start()
    started = time.monotonic()
    assert counting.lead_or_wait("test-lock", wait=5) is False
    waited = time.monotonic() - started
    timer.join()
    assert 0.05 < waited < 2  # back once the leader released, not after 5 s
    assert counting.lead_or_wait("test-lock") is True
    counting.release("test-lock")


def test_a_leader_that_never_finishes_is_waited_for_only_so_long():
    assert counting.lead_or_wait("test-lock") is True
    started = time.monotonic()
    assert counting.lead_or_wait("test-lock", wait=0.1) is False
    assert time.monotonic() - started < 1
    counting.release("test-lock")


def test_with_redis_down_every_caller_counts(monkeypatch):
    def down(*args, **kwargs):
        raise redis.exceptions.ConnectionError("down")

    monkeypatch.setattr(cache, "add", down)
    assert counting.lead_or_wait("test-lock") is True
    assert counting.lead_or_wait("test-lock") is True


def test_a_figure_is_counted_once_then_read_from_the_cache():
    cache.delete("test-figure")
    calls = []

    def count():
        calls.append(1)
        return (7, len(calls))

    first = counting.kept_or_counted("test-figure", count, 60)
    again = counting.kept_or_counted("test-figure", count, 60)
    assert first == again == (7, 1)
    assert len(calls) == 1
    cache.delete("test-figure")


def test_callers_at_the_same_moment_wait_for_the_one_count():
    cache.delete("test-figure")
    calls = []

    def slow_count():
        calls.append(1)
        time.sleep(0.2)
        return len(calls)

    results = []
    threads = [
        threading.Thread(
            target=lambda: results.append(
                counting.kept_or_counted("test-figure", slow_count, 60)
            )
        )
        for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [1, 1, 1, 1]
    assert len(calls) == 1
    cache.delete("test-figure")
