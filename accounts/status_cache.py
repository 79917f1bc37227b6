"""The account-status cache the outbound policy service reads (in Redis).

Two hashes: login -> subscriber id, and subscriber id -> status. Every status
change in accounts.services.status (and every subscriber import) writes here
after its transaction commits, so a suspension refuses the very next message;
``status_cache_load`` rebuilds both hashes from PostgreSQL, which a policy server
does when it starts and every few minutes after (a write lost while Redis was
down is repaired by the next load).

Every write also increments ``VERSION_KEY``, in the same transaction: a policy
server keeps the statuses it has read in memory and drops them all when the
version moves (outbound.policy.counters reads it in the same script call as
its counters), so a change reaches every server by the next message.

This module is the writer; outbound reads the same keys. It knows nothing of
outbound, keeping the import direction one way.
"""

import logging
from collections.abc import Iterable
from functools import lru_cache

import redis
from django.conf import settings
from django.db import transaction

from accounts.models import MailAccount, Subscriber

logger = logging.getLogger(__name__)

LOGIN_KEY = "abusedesk:policy:login"
STATUS_KEY = "abusedesk:policy:status"
LOADED_KEY = "abusedesk:policy:loaded"
VERSION_KEY = "abusedesk:policy:version"
_CHUNK = 5000


@lru_cache(maxsize=4)
def _client_for(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)


def cache_client() -> redis.Redis:
    return _client_for(settings.REDIS_URL)


def status_cache_set(*, subscriber_id: int, status: str) -> None:
    """Write one subscriber's status now."""
    pipe = cache_client().pipeline(transaction=True)
    pipe.hset(STATUS_KEY, str(subscriber_id), status)
    pipe.incr(VERSION_KEY)
    pipe.execute()


def status_cache_set_on_commit(*, subscriber_id: int, status: str) -> None:
    """Write the status once the caller's transaction commits. A Redis failure is
    logged, never raised: the status change itself stands, and the next full load
    repairs the cache."""

    def write() -> None:
        try:
            status_cache_set(subscriber_id=subscriber_id, status=status)
        except redis.RedisError:
            logger.exception("status cache not updated for %s", subscriber_id)

    transaction.on_commit(write)


def status_cache_accounts_sync(*, subscriber_ids: Iterable[int]) -> None:
    """Write the status and logins of these subscribers from the database."""
    ids = list(subscriber_ids)
    pipe = cache_client().pipeline(transaction=True)
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        for pk, status in Subscriber.objects.filter(pk__in=chunk).values_list(
            "pk", "status"
        ):
            pipe.hset(STATUS_KEY, str(pk), status)
        for login, pk in MailAccount.objects.filter(
            subscriber_id__in=chunk
        ).values_list("login", "subscriber_id"):
            pipe.hset(LOGIN_KEY, login, str(pk))
    pipe.incr(VERSION_KEY)
    pipe.execute()


def status_cache_accounts_sync_on_commit(*, subscriber_ids: Iterable[int]) -> None:
    ids = list(subscriber_ids)

    def write() -> None:
        try:
            status_cache_accounts_sync(subscriber_ids=ids)
        except redis.RedisError:
            logger.exception("status cache not updated for %s subscribers", len(ids))

    transaction.on_commit(write)


def status_cache_load(*, now: float) -> int:
    """Rebuild both hashes from the database; returns the number of logins.

    Built under temporary names and renamed into place, so readers never see a
    half-loaded cache and logins that were removed disappear.
    """
    client = cache_client()
    tmp_login, tmp_status = f"{LOGIN_KEY}:loading", f"{STATUS_KEY}:loading"
    client.delete(tmp_login, tmp_status)
    _load_into(client, tmp_status, Subscriber.objects.values_list("pk", "status"))
    logins = _load_into(
        client, tmp_login, MailAccount.objects.values_list("login", "subscriber_id")
    )
    # RENAME replaces the old hash in one step; an empty table has no temp key.
    pipe = client.pipeline(transaction=True)
    for tmp, key in ((tmp_login, LOGIN_KEY), (tmp_status, STATUS_KEY)):
        if client.exists(tmp):
            pipe.rename(tmp, key)
        else:
            pipe.delete(key)
    pipe.set(LOADED_KEY, str(now))
    pipe.incr(VERSION_KEY)
    pipe.execute()
    return logins


def _load_into(client: redis.Redis, key: str, rows) -> int:
    count, mapping = 0, {}
    for first, second in rows.iterator(chunk_size=_CHUNK):
        mapping[str(first)] = str(second)
        if len(mapping) >= _CHUNK:
            client.hset(key, mapping=mapping)
            count, mapping = count + len(mapping), {}
    if mapping:
        client.hset(key, mapping=mapping)
        count += len(mapping)
    return count
