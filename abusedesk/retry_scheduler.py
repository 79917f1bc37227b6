"""The RQ scheduler that puts retried jobs back on their queues, run by
``run_periodic``.

A job that fails with a ``Retry`` interval (``complaints/jobs.py``,
``outbound/jobs.py``) waits in its queue's scheduled-job registry until its
time comes, and only a scheduler moves it back. ``rqworker --with-scheduler``
would do that in a forked copy of the worker: a whole second Django process
(about 60 MB resident) beside one of the workers. ``run_periodic`` already
runs once per deployment and sleeps most of the time, so it moves them, in its
own process. RQ keeps one lock per queue: a second ``run_periodic`` or a worker
started with ``--with-scheduler`` does no harm, one scheduler moves each
queue's jobs and the others take over when it stops.
"""

from __future__ import annotations

from collections.abc import Iterable

from redis import Redis
from rq.scheduler import RQScheduler


class RetryScheduler:
    """RQ's scheduler driven from the caller's loop: ``tick`` once a second.

    ``RQScheduler.work`` loops and sleeps on its own; its steps are called
    here instead, so the same process also enqueues the periodic jobs.
    """

    def __init__(self, queue_names: Iterable[str], connection: Redis) -> None:
        self._scheduler = RQScheduler(list(queue_names), connection=connection)
        self._born = False

    @property
    def queue_names(self) -> set[str]:
        """The queues whose scheduled jobs this process moves now (it holds
        their locks)."""
        return set(self._scheduler.acquired_locks)

    def tick(self) -> None:
        """Move every due job to its queue. Takes the queues' locks first when
        free: at once on the first tick, and then, while another scheduler
        holds them, as often as RQ's own schedulers try (every few minutes).
        Raises ``redis.RedisError`` when Redis cannot be reached; the next tick
        tries again."""
        scheduler = self._scheduler
        if not self._born:
            scheduler.register_birth()
            self._born = True
        if scheduler.should_reacquire_locks:
            scheduler.acquire_locks()
        if scheduler.acquired_locks:
            # Refreshes the locks (they expire a minute after the last beat).
            scheduler.heartbeat()
            scheduler.enqueue_scheduled_jobs()

    def stop(self) -> None:
        """Give the locks up at once, so another scheduler need not wait for
        them to expire."""
        if self._born:
            self._scheduler.stop()
