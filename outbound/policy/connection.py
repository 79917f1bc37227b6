"""One policy client connection, as an asyncio Protocol: bytes in, requests
split off, answered in order, answers written. A Protocol rather than streams,
because the stream layer's per-read coroutines cost more than the decision."""

import asyncio
import logging
import time
from collections import deque

from outbound.policy import protocol

logger = logging.getLogger(__name__)

# A client that sends requests without reading answers is paused past this.
MAX_PENDING = 64


class PolicyConnection(asyncio.Protocol):
    def __init__(self, server) -> None:
        self.server = server
        self.buffer = bytearray()
        self.pending: deque[bytes] = deque()
        self.task: asyncio.Task | None = None
        self.transport: asyncio.Transport | None = None
        self.last_active = time.monotonic()

    @property
    def is_busy(self) -> bool:
        return self.task is not None

    def connection_made(self, transport) -> None:
        self.transport = transport
        self.server.connections.add(self)

    def connection_lost(self, exc) -> None:
        self.server.connections.discard(self)
        self.pending.clear()

    def data_received(self, data: bytes) -> None:
        self.last_active = time.monotonic()
        self.buffer += data
        blocks = protocol.split_requests(self.buffer)
        if len(self.buffer) > protocol.MAX_REQUEST_BYTES:
            self.server.stats.closed_bad += 1
            logger.warning("policy: request over %s bytes, closing", len(self.buffer))
            self.buffer.clear()
            self.transport.close()
            return
        if not blocks:
            return
        self.pending.extend(blocks)
        if len(self.pending) > MAX_PENDING:
            self.transport.pause_reading()
        if self.task is None:
            self.task = asyncio.ensure_future(self._answer_pending())

    async def _answer_pending(self) -> None:
        try:
            while self.pending:
                block = self.pending.popleft()
                answer = await self.server.answer(protocol.parse_request(block))
                if self.transport.is_closing():
                    return
                self.transport.write(protocol.reply(answer))
                if len(self.pending) == MAX_PENDING // 2:
                    self.transport.resume_reading()
        except Exception:  # one broken request must not take the server down
            logger.exception("policy: request failed, closing the connection")
            self.transport.close()
        finally:
            self.task = None
            self.last_active = time.monotonic()
