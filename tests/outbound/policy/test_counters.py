"""The counters' script and the batcher on the real Redis: the window slides,
networks are counted per login, statuses come from memory until the status
cache's version moves."""

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import redis
from django.conf import settings

from accounts.status_cache import LOGIN_KEY, STATUS_KEY, status_cache_set
from outbound.policy.counters import COUNTER_PREFIX, Batcher, CountRequest
from outbound.policy.resp import RespClient
from tests.outbound.conftest import clear_outbound_keys


@pytest.fixture
def cache():
    clear_outbound_keys(settings.REDIS_URL)
    client = redis.Redis.from_url(settings.REDIS_URL, decode_responses=True)
    yield client
    clear_outbound_keys(settings.REDIS_URL)


def _count(requests, *, window_ms=600_000, batcher=None, between=None):
    """Count ``requests`` (lists of CountRequest, one call each) through one
    batcher; ``between(i)`` runs (in this thread) before call i."""

    async def run():
        client = RespClient(settings.REDIS_URL)
        counter = batcher or Batcher(client, window_ms=window_ms)
        counter.client = client
        results = []
        try:
            for i, batch in enumerate(requests):
                if between is not None:
                    await asyncio.to_thread(between, i)
                loop = asyncio.get_running_loop()
                futures = [loop.create_future() for _ in batch]
                for request, future in zip(batch, futures, strict=True):
                    counter.submit(
                        request,
                        lambda count, error, f=future: (
                            f.set_exception(error) if error else f.set_result(count)
                        ),
                    )
                results.append(await asyncio.gather(*futures))
        finally:
            client.close()
        return results

    # In a thread of its own: other tests (Playwright) may leave a loop running here.
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, run()).result(20)


def _request(login="ann", network="192.0.2.0/24", recipients=1):
    return CountRequest(
        login, f"l:{login}" if login else "a:192.0.2.1", network, recipients
    )


def test_messages_and_recipients_add_up_within_the_window(cache):
    [counts] = _count([[_request(recipients=3), _request(recipients=4)]])
    assert [(c.messages, c.recipients) for c in counts] == [(1, 3), (2, 7)]


def test_messages_leave_the_window(cache):
    # A 60 ms window of 1 ms buckets: the first message has left by the second.
    # The key itself lives on for the hour of the login's networks.
    def wait(i):
        if i:
            time.sleep(0.15)

    first, second = _count([[_request()], [_request()]], window_ms=60, between=wait)
    assert (first[0].messages, second[0].messages) == (1, 1)


def _bucket_now(cache, bucket_ms=10_000):
    seconds, micros = cache.time()
    return (seconds * 1000 + micros // 1000) // bucket_ms


def test_buckets_that_left_the_window_are_subtracted(cache):
    """A 10-minute window of 10-second buckets: the one 70 buckets old leaves,
    the ones 30 and 1 old stay, and the newest bucket is carried on."""
    current = _bucket_now(cache)
    cache.set(
        f"{COUNTER_PREFIX}l:ann",
        f"3:6|{current - 70}:1:2,{current - 30}:1:2||{current - 1}:1:2",
    )
    [counts] = _count([[_request(recipients=5), _request(recipients=1)]])
    assert [(c.messages, c.recipients) for c in counts] == [(3, 9), (4, 10)]


def test_a_newest_bucket_older_than_the_window_empties_it(cache):
    current = _bucket_now(cache)
    cache.set(f"{COUNTER_PREFIX}l:ann", f"2:4|{current - 90}:1:2||{current - 80}:1:2")
    [[count]] = _count([[_request(recipients=3)]])
    assert (count.messages, count.recipients) == (1, 3)


def test_counters_written_before_the_newest_bucket_had_its_field_still_count(
    cache,
):
    current = _bucket_now(cache)
    cache.set(
        f"{COUNTER_PREFIX}l:ann",
        f"3:6|{current - 70}:1:2,{current - 30}:1:2,{current - 1}:1:2|",
    )
    [counts] = _count([[_request(recipients=5), _request(recipients=1)]])
    assert [(c.messages, c.recipients) for c in counts] == [(3, 9), (4, 10)]
    assert cache.get(f"{COUNTER_PREFIX}l:ann").startswith("4:10|")


def test_distinct_networks_of_a_login_are_counted(cache):
    [counts] = _count(
        [
            [
                _request(network="192.0.2.0/24"),
                _request(network="198.51.100.0/24"),
                _request(network="192.0.2.0/24"),
                _request(network="2001:db8:1::/48"),
            ]
        ]
    )
    assert [c.networks for c in counts] == [1, 2, 2, 3]


def test_accounts_without_login_count_apart_and_have_no_networks(cache):
    [counts] = _count([[_request(login=""), _request(login=""), _request()]])
    assert [(c.messages, c.networks) for c in counts] == [(1, 0), (2, 0), (1, 1)]
    assert cache.get(f"{COUNTER_PREFIX}a:192.0.2.1").startswith("2:2|")


def test_a_status_change_reaches_the_next_batch(cache, db):
    cache.hset(LOGIN_KEY, "ann", "41")
    cache.hset(STATUS_KEY, "41", "active")

    def suspend(i):
        if i == 2:
            status_cache_set(subscriber_id=41, status="suspended")

    batcher = Batcher(None, window_ms=600_000)
    results = _count([[_request()]] * 3, batcher=batcher, between=suspend)
    assert [r[0].status for r in results] == ["active", "active", "suspended"]
    assert results[0][0].subscriber_id == 41


def test_statuses_in_memory_spare_the_lookups(cache):
    cache.hset(LOGIN_KEY, "ann", "41")
    cache.hset(STATUS_KEY, "41", "active")

    def change_behind_the_version(i):
        # Written without bumping the version, as no writer of the desk does:
        # the memory keeps answering what it read.
        if i == 1:
            cache.hset(STATUS_KEY, "41", "terminated")

    results = _count(
        [[_request()]] * 2,
        batcher=Batcher(None, window_ms=600_000),
        between=change_behind_the_version,
    )
    assert [r[0].status for r in results] == ["active", "active"]


def test_unknown_logins_have_no_subscriber(cache):
    [[count]] = _count([[_request(login="nobody")]])
    assert (count.subscriber_id, count.status) == (None, None)
