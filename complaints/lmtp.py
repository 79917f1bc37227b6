"""The LMTP channel: a long-running server an MTA delivers the abuse and bounce
addresses to (Postfix ``transport_maps`` -> ``lmtp:inet:127.0.0.1:2424``).

LMTP (RFC 2033) answers the end of DATA once per accepted recipient. Every
recipient of one message gets the same answer here, because the message is
stored once (one row, unique by SHA-256) whoever it was addressed to:

- 250 once the row is committed (a redelivery of the same bytes finds its row);
- 451 when it cannot be stored (database down, or any unexpected error), so the
  MTA keeps the message and retries. Redis does not matter: the row is the
  queue, and the sweep wakes a worker when Redis could not;
- 552 when it is larger than ABUSE_INGEST_MAX_BYTES (also refused at MAIL FROM
  when the client announces SIZE), 554 when it is empty: no retry would help.

The event loop only speaks the protocol; storing runs the synchronous ORM in a
small thread pool, each thread with its own database connection. Messages that
arrive while every thread is busy committing are committed together in the next
transaction (a group commit: one commit and one wake-up for many connections'
messages, and still no 250 before its row is committed). Every refusal is
logged with the client's address.
"""

import asyncio
import logging
import re
import signal
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from aiosmtpd.lmtp import LMTP
from aiosmtpd.smtp import BOGUS_LIMIT, MISSING, syntax
from django.conf import settings
from django.db import (
    DatabaseError,
    InterfaceError,
    OperationalError,
    close_old_connections,
    connection,
    connections,
)

from complaints.models import InboundMessage
from complaints.services import inbound_store_many

logger = logging.getLogger(__name__)
# aiosmtpd's logger: its own messages from the command loop below go there.
mail_log = logging.getLogger("mail.log")

REPLY_STORED = "250 2.0.0 Stored as #{pk}"
REPLY_ALREADY_STORED = "250 2.0.0 Already stored as #{pk}"
REPLY_TRY_LATER = "451 4.3.0 Cannot store the message now; try again later"
REPLY_TOO_BIG = "552 5.3.4 Message too big for the abuse desk (limit {limit} bytes)"
REPLY_EMPTY = "554 5.6.0 Empty message: nothing to store"
REPLY_OK = b"250 OK\r\n"
# aiosmtpd's own answer when DATA runs past data_size_limit, replaced by ours.
AIOSMTPD_TOO_MUCH = "552 Error: Too much mail data"
STOP_GRACE_SECONDS = 30.0
# Replies sent at once even with more commands waiting: the data may follow a
# 354 only once the client has it, and nothing comes after a 221 or a 421.
FLUSH_AT_ONCE = ("221", "421")
# One transaction stores at most this many messages, or this many bytes.
GROUP_MAX_MESSAGES = 200
GROUP_MAX_BYTES = 32 * 1024 * 1024
# When a transaction ends, the next one waits at most this long for the
# messages of the connections still delivering (see StoreHandler._is_due).
GROUP_LINGER_SECONDS = 0.010
# A connection answered this recently is taken to be still delivering.
DELIVERING_SECONDS = 0.5
# The end of DATA is a line holding one dot; a line that starts with a dot was
# sent with that dot doubled (RFC 5321, 4.5.2).
DATA_END = b".\r\n"
# The path MTAs send: <local@domain> or the null path <>, nothing to unquote.
SIMPLE_PATH = re.compile(
    r"\s*<((?:[^<>\s\"\\(),;:@\[\]]+@[^<>\s\"\\(),;:@\[\]]+)?)>(.*)\Z", re.S
)


def store_messages(raws: list[bytes]) -> list[tuple[int, bool]]:
    """Store messages from a pool thread in one transaction; return each one's id
    and whether it is new.

    The thread's connection may have broken while it waited (the server
    restarted, a network blip): Django only notices on the next query, so a
    first failure closes it and tries once more on a fresh one. Raises what
    ``inbound_store_many`` raises when the second try fails too.
    """
    close_old_connections()
    try:
        return _store(raws)
    except (OperationalError, InterfaceError):
        connection.close()
        return _store(raws)


def _store(raws: list[bytes]) -> list[tuple[int, bool]]:
    return inbound_store_many(raws=raws, channel=InboundMessage.Channel.LMTP)


class StoreHandler:
    """aiosmtpd's handler: the DATA hook hands the message to the group commit
    and answers once its transaction is over."""

    def __init__(self, executor: ThreadPoolExecutor, max_bytes: int, threads: int):
        self.executor = executor
        self.max_bytes = max_bytes
        self.threads = threads
        self.waiting: list[tuple[bytes, asyncio.Future]] = []
        self.running: set[asyncio.Task] = set()
        self.in_flight = 0
        self.idle = asyncio.Event()
        self.idle.set()
        # The open connections (DeskLMTP adds and removes itself), and when a
        # store thread last came free.
        self.sessions: set[DeskLMTP] = set()
        self.free_since = 0.0
        self._linger: asyncio.TimerHandle | None = None

    async def handle_EHLO(self, server, session, envelope, hostname, responses):  # noqa: N802 - aiosmtpd's hook name
        """LHLO's answer with PIPELINING (RFC 2920): Postfix's LMTP client then
        sends MAIL, RCPT and DATA in one go and reads their replies at once
        (see ``DeskLMTP.push``). The hook sets the greeted name, as aiosmtpd
        does when there is no hook."""
        session.host_name = hostname
        return [*responses[:-1], "250-PIPELINING", responses[-1]]

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 - aiosmtpd's hook name
        raw = envelope.original_content or b""
        if not raw.strip():
            return REPLY_EMPTY
        if len(raw) > self.max_bytes:
            return REPLY_TOO_BIG.format(limit=self.max_bytes)
        answer = asyncio.get_running_loop().create_future()
        self.waiting.append((raw, answer))
        self.idle.clear()
        self._start_groups()
        return await answer

    def _start_groups(self) -> None:
        """Start a transaction for what waits, while a thread is free; what comes
        meanwhile waits for the next one."""
        while self.waiting and self.in_flight < self.threads:
            if not self._is_due():
                return
            group, size = [], 0
            while self.waiting and len(group) < GROUP_MAX_MESSAGES:
                if group and size + len(self.waiting[0][0]) > GROUP_MAX_BYTES:
                    break
                group.append(self.waiting.pop(0))
                size += len(group[-1][0])
            self.in_flight += 1
            task = asyncio.get_running_loop().create_task(self._commit(group))
            self.running.add(task)
            task.add_done_callback(self.running.discard)

    def _is_due(self) -> bool:
        """Whether the next transaction starts now, or waits a little for more.

        With one thread and N connections each waiting for its answer, groups
        would alternate between the connections answered by the last commit
        and the others, N/2 messages each, a commit (its fsync, its round
        trips, its wake-up) for every N/2. So when a thread comes free, the
        next group waits up to GROUP_LINGER_SECONDS for every connection still
        delivering (in a transaction, or answered within DELIVERING_SECONDS)
        to have its message in, as PostgreSQL's commit_delay waits for
        sibling transactions. A lone sender never waits: its message is all
        there is to expect."""
        loop = asyncio.get_running_loop()
        until = self.free_since + GROUP_LINGER_SECONDS
        now = loop.time()
        if now >= until or len(self.waiting) >= self._delivering(now):
            return True
        if self._linger is None:
            self._linger = loop.call_at(until, self._linger_over)
        return False

    def _linger_over(self) -> None:
        self._linger = None
        self._start_groups()

    def _delivering(self, now: float) -> int:
        since = now - DELIVERING_SECONDS
        return sum(1 for session in self.sessions if session.is_delivering(since))

    async def _commit(self, group: list[tuple[bytes, asyncio.Future]]) -> None:
        loop = asyncio.get_running_loop()
        try:
            stored = await loop.run_in_executor(
                self.executor, store_messages, [raw for raw, _ in group]
            )
            replies = [
                (REPLY_STORED if created else REPLY_ALREADY_STORED).format(pk=pk)
                for pk, created in stored
            ]
        except DatabaseError as error:
            logger.warning("lmtp: cannot store %s messages (%s)", len(group), error)
            replies = [REPLY_TRY_LATER] * len(group)
        except Exception:
            # A bug must not bounce a complaint: the MTA keeps it until fixed.
            logger.exception("lmtp: unexpected error while storing")
            replies = [REPLY_TRY_LATER] * len(group)
        finally:
            self.in_flight -= 1
            self.free_since = loop.time()
        for (_, answer), reply in zip(group, replies, strict=True):
            if not answer.done():  # its client may have gone meanwhile
                answer.set_result(reply)
        self._start_groups()
        if not self.waiting and not self.in_flight:
            self.idle.set()


class DeskLMTP(LMTP):
    """aiosmtpd's LMTP with the one reply per recipient that RFC 2033 requires
    after DATA (aiosmtpd sends one), and every refusal logged."""

    # RFC 5321 lines are 1,000 octets, but a complaint quoting mail with longer
    # lines must not be refused for it: what the desk stores is read leniently.
    line_length_limit = 1 << 20

    def __init__(self, *args, max_bytes: int, **kwargs) -> None:
        super().__init__(*args, data_size_limit=max_bytes, **kwargs)
        self._replies_due = 0
        self._replies: list[bytes] = []
        self.answered_at = 0.0

    def connection_made(self, transport) -> None:
        super().connection_made(transport)
        self.event_handler.sessions.add(self)

    def connection_lost(self, error) -> None:
        self.event_handler.sessions.discard(self)
        super().connection_lost(error)

    def is_delivering(self, since: float) -> bool:
        """In a mail transaction, or answered the end of one after ``since``."""
        envelope = self.envelope
        return self.answered_at > since or bool(envelope and envelope.mail_from)

    def _reset_timeout(self, duration: float | None = None) -> None:
        """Move the idle deadline on. aiosmtpd cancels and re-arms a timer at
        every command, a heap push each and a heap full of cancelled timers;
        here one timer waits and, when it fires, looks at the deadline."""
        deadline = self.loop.time() + (duration or self._timeout_duration)
        self._idle_deadline = deadline
        handle = self._timeout_handle
        if handle is None or handle.cancelled() or handle.when() > deadline:
            if handle is not None:
                handle.cancel()
            self._timeout_handle = self.loop.call_at(deadline, self._idle_check)

    def _idle_check(self) -> None:
        if self.loop.time() < self._idle_deadline:
            self._timeout_handle = self.loop.call_at(
                self._idle_deadline, self._idle_check
            )
            return
        self._timeout_cb()

    async def _handle_client(self) -> None:
        """aiosmtpd's command loop, less what this server never enables (PROXY,
        TLS, AUTH, call limits: with any of them on, aiosmtpd's own loop runs)
        and less its per-line debug logging, which formatted and sanitised
        every line before the logger dropped it. Same replies, same order."""
        if (
            self._proxy_timeout is not None
            or self.tls_context
            or self._enforce_call_limit
            or self._auth_required
        ):
            await super()._handle_client()
            return
        await self.push(f"220 {self.hostname} {self.__ident__}")
        bogus_budget = BOGUS_LIMIT
        reader = self._reader
        while self.transport is not None:
            try:
                try:
                    line = await reader.readuntil()
                except asyncio.LimitOverrunError as error:
                    await self._skip_long_line(error.consumed)
                    await self.push("500 Command line too long")
                    continue
                line = line.rstrip(b"\r\n")
                if not line:
                    await self.push("500 Error: bad syntax")
                    continue
                command_bytes, _, arg_bytes = line.partition(b" ")
                try:
                    command = command_bytes.upper().decode("ascii")
                except UnicodeDecodeError:
                    await self.push("500 Error: bad syntax")
                    continue
                arg = None
                if arg_bytes:
                    arg_bytes = arg_bytes.strip()
                    if self.enable_SMTPUTF8:
                        arg = str(arg_bytes, "utf-8", "surrogateescape")
                    else:
                        try:
                            arg = str(arg_bytes, "ascii", "strict")
                        except UnicodeDecodeError:
                            await self.push("500 Error: strict ASCII mode")
                            continue
                limit = (
                    self.command_size_limits[command]
                    if self.session.extended_smtp
                    else self.command_size_limit
                )
                if len(line) > limit:
                    await self.push("500 Command line too long")
                    continue
                method = self._smtp_methods.get(command)
                if method is None:
                    mail_log.warning("%r unrecognised: %s", self.session.peer, command)
                    bogus_budget -= 1
                    if bogus_budget < 1:
                        mail_log.warning(
                            "%r too many bogus commands", self.session.peer
                        )
                        await self.push(
                            "502 5.5.1 Too many unrecognized commands, goodbye."
                        )
                        self.transport.close()
                        continue
                    await self.push(f'500 Error: command "{command}" not recognized')
                    continue
                self._reset_timeout()
                await method(arg)
            except (asyncio.CancelledError, ConnectionResetError):
                mail_log.info(
                    "%r Connection lost during _handle_client()", self.session.peer
                )
                self._writer.close()
                raise
            except Exception as error:  # noqa: BLE001 - answered as aiosmtpd does
                await self.push(await self._describe_error(error))

    async def _skip_long_line(self, consumed: int) -> None:
        """Read past a command line longer than the stream limit."""
        await self._reader.read(consumed)
        while True:
            try:
                await self._reader.readuntil()
                return
            except asyncio.LimitOverrunError as error:
                await self._reader.read(error.consumed)

    async def _describe_error(self, error: Exception) -> str:
        try:
            return await self.handle_exception(error)
        except Exception as inner:  # noqa: BLE001 - as aiosmtpd answers it
            try:
                mail_log.exception(
                    "%r Exception in handle_exception()", self.session.peer
                )
                return f"500 Error: ({inner.__class__.__name__}) {inner}"
            except Exception:  # noqa: BLE001
                return "500 Error: Cannot describe error"

    def _getaddr(self, arg: str) -> tuple[str | None, str | None]:
        """The plain paths MTAs send are read with one pattern; anything else
        (quoted local parts, source routes) goes to aiosmtpd's full parser,
        which costs more than the rest of a delivery."""
        match = SIMPLE_PATH.match(arg or "")
        if match is None:
            return super()._getaddr(arg)
        address, rest = match.groups()
        local = address.rpartition("@")[0]
        if self.local_part_limit and len(local) > self.local_part_limit:
            return None, None
        # aiosmtpd gives the null path as "<>"; keep what its handlers expect.
        return address or "<>", rest

    @syntax("MAIL FROM: <address>", extended=" [SP <mail-parameters>]")
    async def smtp_MAIL(self, arg: str | None) -> None:  # noqa: N802 - aiosmtpd's name
        """MAIL as aiosmtpd answers it. The plain case (a greeted session, no
        parameters, no transaction open) is answered here with what aiosmtpd
        would do, without its parameter parsing; the rest goes to aiosmtpd."""
        address = self._plain_path(arg, "FROM:", "MAIL")
        if address is None or self.envelope.mail_from:
            await super().smtp_MAIL(arg)
            return
        self.envelope.smtp_utf8 = False
        self.envelope.mail_from = address
        mail_log.info("%r sender: %s", self.session.peer, address)
        await self._reply_ok()

    @syntax("RCPT TO: <address>", extended=" [SP <mail-parameters>]")
    async def smtp_RCPT(self, arg: str | None) -> None:  # noqa: N802 - aiosmtpd's name
        """RCPT as aiosmtpd answers it, the plain case here (see smtp_MAIL)."""
        address = self._plain_path(arg, "TO:", "RCPT")
        if address is None or not self.envelope.mail_from:
            await super().smtp_RCPT(arg)
            return
        self.envelope.rcpt_tos.append(address)
        mail_log.info("%r recip: %s", self.session.peer, address)
        await self._reply_ok()

    def _plain_path(self, arg: str | None, keyword: str, command: str) -> str | None:
        """The path of a MAIL or RCPT that carries no parameters, in a session
        where aiosmtpd's checks pass (greeted, no AUTH required, no handler
        hook for the command); None for aiosmtpd to answer."""
        if (
            arg is None
            or not self.session.host_name
            or self._auth_required
            or command in self._handle_hooks
        ):
            return None
        rest = self._strip_command_keyword(keyword, arg)
        if rest is None:
            return None
        address, params = self._getaddr(rest)
        return address if address and params == "" else None

    async def _reply_ok(self) -> None:
        """``push("250 OK")`` outside DATA: one reply, held while the client's
        next command waits (see ``_flush``)."""
        self._replies.append(REPLY_OK)
        await self._flush(force=False)

    @syntax("DATA")
    async def smtp_DATA(self, arg: str) -> None:  # noqa: N802 - aiosmtpd's name
        """DATA as aiosmtpd answers it, but read up to each dot line rather than a
        line per await: a complaint has a hundred lines and the desk takes
        thousands a second, and the line loop was most of the server's CPU."""
        self._replies_due = 0
        try:
            if await self.check_helo_needed() or await self.check_auth_needed("DATA"):
                return
            if not self.envelope.rcpt_tos:
                await self.push("503 Error: need RCPT command")
                return
            if arg:
                await self.push("501 Syntax: DATA")
                return
            await self.push("354 End data with <CR><LF>.<CR><LF>")
            content = await self._data_read()
            if content is None:
                self._set_post_data_state()
                await self.push(REPLY_TOO_BIG.format(limit=self.data_size_limit))
                return
            self.envelope.content = self.envelope.original_content = content
            status = await self._call_handler_hook("DATA")
            self.answered_at = self.loop.time()
            self._set_post_data_state()
            await self.push("250 OK" if status is MISSING else status)
        finally:
            self._replies_due = 0

    async def _data_read(self) -> bytes | None:
        """The message up to the dot line, dot-unstuffed; None when it is larger
        than the limit (read to its end all the same, so the session goes on)."""
        chunks: list[bytes] = []
        size, tail, too_big = 0, b"", False
        while True:
            try:
                chunk = await self._reader.readuntil(DATA_END)
            except asyncio.LimitOverrunError as error:
                # No dot line within the stream limit: take what is buffered.
                chunk, ended = await self._reader.read(error.consumed), False
            else:
                before = (tail + chunk[:-3])[-2:]
                ended = size + len(chunk) == 3 or before == b"\r\n"
            size += len(chunk)
            if ended:
                chunk = chunk[:-3]
            if not too_big:
                chunks.append(chunk)
                if self.data_size_limit and size > self.data_size_limit:
                    too_big, chunks = True, []
            tail = (tail + chunk)[-2:]
            if ended:
                break
        if too_big:
            return None
        data = b"".join(chunks)
        if data.startswith(b"."):
            data = data[1:]
        return data.replace(b"\r\n.", b"\r\n")

    async def push(self, status) -> None:
        text = (
            status.decode("utf-8", "replace") if isinstance(status, bytes) else status
        )
        if text.startswith("354") and self.envelope is not None:
            # Whatever answers the data next is owed once per recipient.
            self._replies_due = len(self.envelope.rcpt_tos)
            self._queue_reply(text)
            await self._flush(force=True)
            return
        if text == AIOSMTPD_TOO_MUCH:
            text = REPLY_TOO_BIG.format(limit=self.data_size_limit)
        if text[:1] in ("4", "5"):
            peer = self.session.peer if self.session is not None else None
            logger.warning("lmtp refused %s: %s", _peer_host(peer), text)
        count, self._replies_due = max(self._replies_due, 1), 0
        for _ in range(count):
            self._queue_reply(text)
        await self._flush(force=text[:3] in FLUSH_AT_ONCE)

    def _queue_reply(self, text: str) -> None:
        encoding = "utf-8" if self.enable_SMTPUTF8 else "ascii"
        self._replies.append(text.encode(encoding) + b"\r\n")

    async def _flush(self, *, force: bool) -> None:
        """Send the replies held so far, unless the client has already sent the
        next command: RFC 2920 lets a server hold the replies to pipelined
        commands until it would wait for input, so a pipelining MTA gets the
        replies to MAIL, RCPT and DATA in one segment, and every reply costs
        this process and the client a send and a wake-up less."""
        if not force and self._is_more_input():
            return
        data, self._replies = b"".join(self._replies), []
        self._writer.write(data)
        await self._writer.drain()

    def _is_more_input(self) -> bool:
        # StreamReader keeps what it has received and not yet handed out in
        # _buffer (no public way to peek); without it every reply goes at once.
        buffered = getattr(self._reader, "_buffer", None)
        return buffered is not None and buffered.find(b"\n") >= 0


def _peer_host(peer) -> str:
    if isinstance(peer, tuple) and peer:
        return str(peer[0])
    return str(peer)


@dataclass(frozen=True)
class ServerConfig:
    host: str
    port: int
    threads: int = 1
    # Seconds a silent client keeps its connection (Postfix caches them).
    timeout: float = 300.0
    hostname: str = "abusedesk"


def parse_listen(value: str) -> tuple[str, int]:
    """``HOST:PORT`` or ``[v6]:PORT``."""
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit():
        raise ValueError(f"--listen {value!r}: expected HOST:PORT")
    return host.strip("[]") or "127.0.0.1", int(port)


def run(coroutine):
    """Run ``coroutine`` (``serve``) on uvloop when it is installed, else on
    asyncio's own loop: uvloop's loop and socket transports are written in C,
    and the loop's own work was a large part of the server's CPU per message."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coroutine)
    return uvloop.run(coroutine)


async def serve(
    config: ServerConfig,
    *,
    ready: Callable[[tuple[str, int]], None] | None = None,
    stop: asyncio.Event | None = None,
    handle_signals: bool = True,
) -> None:
    """Serve until SIGTERM or SIGINT (or ``stop``), then let the messages being
    stored finish and their answers go out (for at most ``STOP_GRACE_SECONDS``):
    a stored message whose 250 was lost would only be delivered again, but an
    answer cut off is a delay for the MTA."""
    max_bytes = settings.ABUSE_INGEST_MAX_BYTES
    # aiosmtpd logs every command at INFO, senders' and recipients' addresses
    # with them (STYLE.md: no addresses at INFO); its warnings still show.
    logging.getLogger("mail.log").setLevel(logging.WARNING)
    executor = ThreadPoolExecutor(
        max_workers=config.threads, thread_name_prefix="lmtp-store"
    )
    handler = StoreHandler(executor, max_bytes, config.threads)
    loop = asyncio.get_running_loop()
    stop = stop or asyncio.Event()
    if handle_signals:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
    server = await loop.create_server(
        lambda: DeskLMTP(
            handler,
            max_bytes=max_bytes,
            hostname=config.hostname,
            ident="abusedesk LMTP",
            timeout=config.timeout,
            enable_SMTPUTF8=True,
            loop=loop,
        ),
        host=config.host,
        port=config.port,
    )
    bound = server.sockets[0].getsockname()[:2]
    logger.info("lmtp server listening on %s port %s", bound[0], bound[1])
    if ready is not None:
        ready((bound[0], bound[1]))
    try:
        await stop.wait()
    finally:
        logger.info("lmtp server stopping")
        server.close()
        try:
            await asyncio.wait_for(handler.idle.wait(), STOP_GRACE_SECONDS)
            # The answers are written by the connections' tasks, once more round.
            await asyncio.sleep(0.1)
        except TimeoutError:
            logger.warning(
                "lmtp: %s transactions still storing at exit", handler.in_flight
            )
        await loop.run_in_executor(
            None, _close_pool_connections, executor, config.threads
        )
        executor.shutdown(wait=False, cancel_futures=True)


def _close_pool_connections(executor: ThreadPoolExecutor, threads: int) -> None:
    """Close each pool thread's database connection (only its own thread may):
    the barrier holds every thread on one task, so each runs exactly one."""
    barrier = threading.Barrier(threads)

    def close() -> None:
        connections.close_all()
        try:
            barrier.wait(timeout=5)
        except threading.BrokenBarrierError:
            pass

    for future in [executor.submit(close) for _ in range(threads)]:
        try:
            future.result(timeout=10)
        except TimeoutError:  # a thread still stuck on a hung server
            logger.warning("lmtp: a store thread did not close its connection")
