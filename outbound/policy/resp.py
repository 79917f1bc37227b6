"""A minimal Redis client for the policy service's hot path: one connection,
pipelined commands, replies matched to callers in order.

redis-py's asyncio client spends several times the CPU of the decision itself on
each call (pool, wrappers, parser layers); the hot path makes one call per batch
of decisions and needs only bulk, simple, integer and error replies, so this
speaks that much of RESP (the Redis protocol) directly. Everything else (the
recorder, the cache loads) keeps using redis-py.
"""

import asyncio
from collections import deque

from redis.asyncio.connection import parse_url
from redis.exceptions import RedisError


class RespError(RedisError):
    """An error reply from Redis, or a reply this client does not speak."""


def pack(*args) -> bytes:
    out = [b"*%d\r\n" % len(args)]
    for arg in args:
        data = arg if isinstance(arg, bytes) else str(arg).encode("utf-8")
        out.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(out)


def parse_reply(buffer: bytearray, start: int = 0):
    """(reply, end) for the first complete reply in ``buffer`` from ``start``, or
    None while it is incomplete. A null reply is (None, end)."""
    end = buffer.find(b"\r\n", start)
    if end == -1:
        return None
    kind, line = buffer[start : start + 1], bytes(buffer[start + 1 : end])
    if kind == b"$":
        size = int(line)
        if size == -1:
            return None, end + 2
        if len(buffer) < end + 2 + size + 2:
            return None
        return bytes(buffer[end + 2 : end + 2 + size]), end + 4 + size
    if kind == b"+":
        return line, end + 2
    if kind == b":":
        return int(line), end + 2
    if kind == b"-":
        return RespError(line.decode("utf-8", "replace")), end + 2
    raise RespError(f"unexpected reply type {kind!r}")


class _Protocol(asyncio.Protocol):
    def __init__(self) -> None:
        self.buffer = bytearray()
        self.waiters: deque[asyncio.Future] = deque()
        self.transport = None
        self.is_lost = False

    def connection_made(self, transport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        at = 0
        while self.waiters:
            try:
                parsed = parse_reply(self.buffer, at)
            except (RespError, ValueError) as exc:
                self._fail(exc)
                self.transport.close()
                return
            if parsed is None:
                break
            reply, at = parsed
            waiter = self.waiters.popleft()
            if not waiter.done():
                if isinstance(reply, RespError):
                    waiter.set_exception(reply)
                else:
                    waiter.set_result(reply)
        del self.buffer[:at]

    def connection_lost(self, exc) -> None:
        self.is_lost = True
        self._fail(ConnectionError("Redis connection lost"))

    def _fail(self, exc: Exception) -> None:
        while self.waiters:
            waiter = self.waiters.popleft()
            if not waiter.done():
                waiter.set_exception(exc)


class RespClient:
    def __init__(self, url: str, *, timeout: float = 0.5) -> None:
        self.options = parse_url(url)
        self.timeout = timeout
        self._protocol: _Protocol | None = None
        self._connecting: asyncio.Lock | None = None

    async def _connect(self) -> _Protocol:
        loop = asyncio.get_running_loop()
        if "path" in self.options:
            _t, protocol = await loop.create_unix_connection(
                _Protocol, self.options["path"]
            )
        else:
            _t, protocol = await loop.create_connection(
                _Protocol,
                self.options.get("host", "127.0.0.1"),
                self.options.get("port", 6379),
            )
        setup = []
        if self.options.get("password"):
            user = self.options.get("username")
            setup.append(
                ("AUTH", user, self.options["password"])
                if user
                else ("AUTH", self.options["password"])
            )
        if self.options.get("db"):
            setup.append(("SELECT", self.options["db"]))
        for command in setup:
            await self._send(protocol, command)
        return protocol

    async def _ready(self) -> _Protocol:
        if self._protocol is not None and not self._protocol.is_lost:
            return self._protocol
        if self._connecting is None:
            self._connecting = asyncio.Lock()
        async with self._connecting:
            if self._protocol is None or self._protocol.is_lost:
                self._protocol = await asyncio.wait_for(self._connect(), self.timeout)
        return self._protocol

    def _send(self, protocol: _Protocol, command) -> asyncio.Future:
        future = asyncio.get_running_loop().create_future()
        protocol.waiters.append(future)
        protocol.transport.write(pack(*command))
        return future

    async def call(self, *command):
        """Send one command and wait for its reply. On a timeout the connection
        is dropped, since later replies could no longer be matched. (A timer
        rather than ``asyncio.wait_for``, which costs a good deal more per call.)"""
        protocol = await self._ready()
        future = self._send(protocol, command)
        timer = asyncio.get_running_loop().call_later(
            self.timeout, _expire, protocol, future
        )
        try:
            return await future
        finally:
            timer.cancel()

    def close(self) -> None:
        if self._protocol is not None and self._protocol.transport is not None:
            self._protocol.transport.close()


def _expire(protocol: _Protocol, future: asyncio.Future) -> None:
    if not future.done():
        future.set_exception(TimeoutError("no reply from Redis in time"))
        protocol.transport.close()
