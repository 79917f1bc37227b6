"""One policy client connection, as an asyncio Protocol: bytes in, requests
split off and handed to the server, answers written back in request order.

No task or coroutine per request: the server calls ``answer`` when a decision
is made (usually from the reply of the batched Redis call), which is what keeps
the event loop's own cost per decision small. A request answered early (one
that needs no decision) waits behind the ones sent before it.
"""

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
        # One list per request, in order: [None] until answered, then [reply].
        self.slots: deque[list] = deque()
        self.transport: asyncio.Transport | None = None
        self.last_active = time.monotonic()
        self.is_paused = False

    @property
    def is_busy(self) -> bool:
        return bool(self.slots)

    def connection_made(self, transport) -> None:
        self.transport = transport
        self.server.connections.add(self)

    def connection_lost(self, exc) -> None:
        self.server.connections.discard(self)
        self.slots.clear()

    def data_received(self, data: bytes) -> None:
        self.last_active = time.monotonic()
        if (
            not self.buffer
            and data.find(b"\n\n") == len(data) - 2
            and b"\r" not in data
        ):
            # What Postfix sends: one whole request per read, nothing before it.
            blocks = (data[:-2],)
        else:
            self.buffer += data
            blocks = protocol.split_requests(self.buffer)
        if len(self.buffer) > protocol.MAX_REQUEST_BYTES:
            self.server.stats.closed_bad += 1
            logger.warning("policy: request over %s bytes, closing", len(self.buffer))
            self.buffer.clear()
            self.transport.close()
            return
        for block in blocks:
            slot = [None]
            self.slots.append(slot)
            try:
                self.server.submit(protocol.parse_request(block), self, slot)
            except Exception:  # one broken request must not take the server down
                self.fail()
                return
        if len(self.slots) > MAX_PENDING and not self.is_paused:
            self.is_paused = True
            self.transport.pause_reading()

    def answer(self, slot: list, action: str) -> None:
        """The action for the request of ``slot``; written once every request
        before it is answered too."""
        self.answer_reply(slot, protocol.reply(action))

    def answer_reply(self, slot: list, reply: bytes) -> None:
        """``answer`` with the reply already encoded (``protocol.reply``)."""
        slot[0] = reply
        self.last_active = time.monotonic()
        slots = self.slots
        if not slots or slots[0][0] is None or self.transport.is_closing():
            return
        ready = [slots.popleft()[0]]
        while slots and slots[0][0] is not None:
            ready.append(slots.popleft()[0])
        self.transport.write(ready[0] if len(ready) == 1 else b"".join(ready))
        if self.is_paused and len(slots) <= MAX_PENDING // 2:
            self.is_paused = False
            self.transport.resume_reading()

    def fail(self) -> None:
        logger.exception("policy: request failed, closing the connection")
        self.slots.clear()
        self.transport.close()
