"""Waking the workers up when stored mail waits: the one call every channel makes
after its commit.

The stored rows are the queue (``InboundMessage`` in state pending); an RQ job
only tells a worker to drain them (``drain.inbound_drain``). Arrivals would
otherwise cost a job, and with the forking ``rqworker`` a fork, each, so wake-ups
are coalesced through one Redis key with a short expiry: the arrival that sets
it enqueues a drain job, the arrivals after it find the key and enqueue nothing.

A drain job deletes the key when it starts, before its first claim. So a key
that exists always stands for a job that has not started yet, and that job will
see every message committed before the key was found: no arrival waits for the
sweep. An arrival after the delete enqueues one job more, which lets a second
worker join a drain at once; a drainer that claims a full batch wakes one too.
The expiry only matters when a queued job is lost (a queue emptied by hand):
arrivals wake workers again after it.
"""

import functools
import logging

import django_rq
import redis
from django.conf import settings

logger = logging.getLogger(__name__)

WAKE_KEY = "desk:ingest:wake"
# While every worker is busy, at most one spare job is queued per this many
# seconds; after a lost job, arrivals enqueue again this much later.
WAKE_TTL_SECONDS = 10


def _redis():
    return _client_for(settings.RQ_QUEUES["ingest"].get("URL"))


@functools.cache
def _client_for(url: str | None):
    """One client (and connection pool) per process and URL: every arrival calls
    here, and django_rq builds a new client, so a new connection, on each call.
    redis-py renews the pool's connections in a forked work horse."""
    return django_rq.get_connection("ingest")


def inbound_wake(*, force: bool = False) -> bool:
    """Make sure a worker will drain the pending messages; return whether a drain
    job was enqueued.

    ``force`` enqueues one even when a wake-up is already on its way (the sweep,
    which must not trust a key whose job may have been lost; a drainer handing
    over when its time is up). A Redis outage is
    logged, not raised: the messages are committed and the periodic sweep wakes
    a worker once Redis is back.
    """
    from complaints import jobs  # jobs import services; import at call time

    try:
        is_first = _redis().set(WAKE_KEY, b"1", nx=not force, ex=WAKE_TTL_SECONDS)
        if not is_first:
            return False
        jobs.inbound_drain_job.delay()
    except redis.exceptions.RedisError:
        logger.warning("could not wake a worker; the sweep will")
        return False
    return True


def inbound_wake_clear() -> None:
    """Let the next arrival enqueue a drain job (a drainer calls this before its
    first claim). Without Redis there is nothing to clear: arrivals cannot
    enqueue either, and the sweep wakes a worker later."""
    try:
        _redis().delete(WAKE_KEY)
    except redis.exceptions.RedisError:
        logger.warning("could not clear the wake-up key")
