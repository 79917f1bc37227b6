"""Submission records, off the request path: decisions are buffered in memory and
written to a Redis stream in batches (one stream entry per batch), which a drain
job turns into Submission rows.

While Redis is down the buffer keeps up to ``max_buffer`` records and retries;
beyond that the oldest are dropped and counted, so a long outage cannot exhaust
the server's memory.
"""

import asyncio
import json
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from itertools import islice

import redis.asyncio as aioredis

from outbound.policy.counters import PREFIX

logger = logging.getLogger(__name__)

STREAM_KEY = f"{PREFIX}:submissions"
# Entries (batches) kept in the stream when no drain runs: a bound on memory.
STREAM_MAXLEN = 200_000


class Recorder:
    def __init__(
        self,
        client: aioredis.Redis,
        *,
        flush_seconds: float = 0.05,
        flush_size: int = 500,
        max_buffer: int = 200_000,
        on_flushed: Callable[[aioredis.Redis], Awaitable[None]] | None = None,
    ) -> None:
        self.client = client
        self.flush_seconds = flush_seconds
        self.flush_size = flush_size
        # Each record as the text of its JSON object.
        self.buffer: deque[str] = deque(maxlen=max_buffer)
        self.dropped = 0
        self.written = 0
        self.on_flushed = on_flushed
        self._wake = asyncio.Event()
        self._task: asyncio.Task | None = None
        self._stopping = False
        self._flushing = asyncio.Lock()

    def add(self, record: dict) -> None:
        self.add_encoded(json.dumps(record, separators=(",", ":")))

    def add_encoded(self, record: str) -> None:
        """A record already written as its JSON object (the hot path writes its
        own, cheaper than building a dict for ``json.dumps``)."""
        buffer = self.buffer
        if len(buffer) == buffer.maxlen:
            self.dropped += 1
        buffer.append(record)
        if len(buffer) >= self.flush_size:
            self._wake.set()

    def start(self) -> None:
        self._task = asyncio.ensure_future(self._loop())

    async def stop(self, *, timeout: float = 5.0) -> None:
        """Write what is buffered (as far as Redis lets within ``timeout``)."""
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            try:
                await asyncio.wait_for(self._task, timeout)
            except TimeoutError:
                self._task.cancel()
        if self.buffer:
            logger.error("recorder: %s records not written", len(self.buffer))

    async def _loop(self) -> None:
        backoff = self.flush_seconds
        while True:
            try:
                await asyncio.wait_for(self._wake.wait(), backoff)
            except TimeoutError:
                pass
            self._wake.clear()
            ok = await self.flush()
            backoff = self.flush_seconds if ok else min(backoff * 2, 1.0)
            if self._stopping and not self.buffer:
                return

    async def flush(self) -> bool:
        """Write the buffer; True when it is empty afterwards."""
        async with self._flushing:
            return await self._flush()

    async def _flush(self) -> bool:
        while self.buffer:
            batch = list(islice(self.buffer, 2000))
            try:
                await self.client.xadd(
                    STREAM_KEY,
                    {"r": "[" + ",".join(batch) + "]"},
                    maxlen=STREAM_MAXLEN,
                    approximate=True,
                )
            except (aioredis.RedisError, OSError):
                logger.warning(
                    "recorder: Redis unavailable, %s buffered", len(self.buffer)
                )
                return False
            for _ in batch:
                self.buffer.popleft()
            self.written += len(batch)
            if self.on_flushed is not None:
                await self.on_flushed(self.client)
        return True
