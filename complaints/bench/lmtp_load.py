"""The ingest benchmark's moving parts: MTA-like clients delivering over LMTP on
several connections at once, and what the processes it starts cost (resident
memory of a worker with its work horse, CPU time including reaped children).

Nothing here touches the database; ``bench_ingest`` wires it up.
"""

import asyncio
import os
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

# Seconds an MTA would wait before retrying a 451 (Postfix waits minutes; the
# benchmark only needs the retry to happen).
RETRY_AFTER_SECONDS = 1.0


@dataclass
class Delivery:
    """Shared between the client thread and the command that watches it."""

    delivered: int = 0
    retried: int = 0
    refused: list[str] = field(default_factory=list)
    started: float = 0.0
    finished: float = 0.0
    done: threading.Event = field(default_factory=threading.Event)
    error: BaseException | None = None
    # CPU seconds of the client thread: the load generator shares the machine.
    cpu: float = 0.0


def deliver(
    host: str,
    port: int,
    messages: list[bytes],
    *,
    connections: int,
    recipient: str = "abuse@isp.example",
) -> Delivery:
    """Start delivering ``messages`` from a thread of its own; return at once with
    the object its progress is written to (``done`` is set at the end)."""
    state = Delivery()

    def run() -> None:
        try:
            _run(_deliver_all(host, port, messages, connections, recipient, state))
        except BaseException as error:  # noqa: BLE001 - reported by the command
            state.error = error
        finally:
            state.finished = time.monotonic()
            state.cpu = time.thread_time()
            state.done.set()

    state.started = time.monotonic()
    threading.Thread(target=run, name="lmtp-clients", daemon=True).start()
    return state


def _run(coroutine) -> None:
    """On uvloop when installed, as lmtp_server runs: the clients share the
    machine with the desk, and uvloop's socket transports cost less CPU."""
    try:
        import uvloop
    except ImportError:
        asyncio.run(coroutine)
        return
    uvloop.run(coroutine)


async def _deliver_all(host, port, messages, connections, recipient, state) -> None:
    loop = asyncio.get_running_loop()
    queue = deque(_data(raw) for raw in messages)
    envelope = (
        b"MAIL FROM:<MAILER-DAEMON@mx.example.com>\r\n",
        f"RCPT TO:<{recipient}>\r\n".encode(),
        b"DATA\r\n",
    )
    clients = []
    for _ in range(connections):
        _, client = await loop.create_connection(
            lambda: _Client(queue, envelope, state), host, port
        )
        clients.append(client)
    await asyncio.gather(*(client.finished for client in clients))


class _Client(asyncio.Protocol):
    """One MTA connection delivering from the shared queue, one message per
    transaction, as Postfix's LMTP client does: LHLO once; then, when the
    server offers PIPELINING, MAIL, RCPT and DATA in one write and their
    replies read together, the message after the 354, and its reply; QUIT
    when the queue is empty.

    A protocol rather than streams: the replies of a pipelined envelope come
    in one segment, and handling them in the callback that receives them
    spares a task wake-up per reply line, most of a stream client's CPU."""

    def __init__(self, queue: deque, envelope: tuple[bytes, ...], state) -> None:
        self.queue = queue
        self.envelope = envelope
        self.pipelined = b"".join(envelope)
        self.state = state
        self.finished = asyncio.get_running_loop().create_future()
        self.transport = None
        self.buffer = bytearray()
        self.lines: list[bytes] = []
        self.on_reply = self._greeted
        self.sent = 0  # commands of the envelope written
        self.due = 0  # replies still owed to them
        self.data = b""
        self.is_pipelining = False

    def connection_made(self, transport) -> None:
        self.transport = transport

    def connection_lost(self, error) -> None:
        if not self.finished.done():
            self.finished.set_exception(
                error or ConnectionError("the LMTP server closed the connection")
            )

    def data_received(self, data: bytes) -> None:
        buffer = self.buffer
        buffer += data
        start = 0
        while (end := buffer.find(b"\n", start)) >= 0:
            line = bytes(buffer[start : end + 1])
            start = end + 1
            self.lines.append(line)
            if line[3:4] != b"-":  # the last line of a reply
                reply, self.lines = b"".join(self.lines), []
                try:
                    self.on_reply(reply)
                except Exception as error:  # noqa: BLE001 - ends this client
                    self._fail(error)
                    return
        del buffer[:start]

    def _fail(self, error: BaseException) -> None:
        if not self.finished.done():
            self.finished.set_exception(error)
        self.transport.close()

    def _greeted(self, reply: bytes) -> None:
        self.on_reply = self._lhlo_answered
        self.transport.write(b"LHLO bench.isp.example\r\n")

    def _lhlo_answered(self, reply: bytes) -> None:
        self.is_pipelining = b"PIPELINING" in reply
        self._next_message()

    def _next_message(self) -> None:
        if not self.queue:
            self.on_reply = self._quit_answered
            self.transport.write(b"QUIT\r\n")
            return
        self.data = self.queue.popleft()
        self._send_envelope()

    def _send_envelope(self) -> None:
        self.on_reply = self._envelope_answered
        if self.is_pipelining:
            # As Postfix's LMTP client does when offered PIPELINING: the
            # envelope in one write, then its three replies.
            self.sent = self.due = len(self.envelope)
            self.transport.write(self.pipelined)
        else:
            self.sent = self.due = 1
            self.transport.write(self.envelope[0])

    def _envelope_answered(self, reply: bytes) -> None:
        self.due -= 1
        if self.due:
            return
        if self.sent < len(self.envelope):  # without PIPELINING, one at a time
            self.transport.write(self.envelope[self.sent])
            self.sent += 1
            self.due = 1
            return
        if not reply.startswith(b"354"):
            raise RuntimeError(f"DATA refused: {reply!r}")
        self.on_reply = self._data_answered
        self.transport.write(self.data)

    def _data_answered(self, reply: bytes) -> None:
        state = self.state
        if reply.startswith(b"250"):
            state.delivered += 1
        elif reply.startswith(b"4"):
            state.retried += 1
            self.on_reply = self._unexpected
            asyncio.get_running_loop().call_later(
                RETRY_AFTER_SECONDS, self._send_envelope
            )
            return
        else:
            state.refused.append(reply.decode(errors="replace"))
        self._next_message()

    def _unexpected(self, reply: bytes) -> None:
        raise RuntimeError(f"unexpected reply: {reply!r}")

    def _quit_answered(self, reply: bytes) -> None:
        self.transport.close()
        if not self.finished.done():
            self.finished.set_result(None)


def _data(raw: bytes) -> bytes:
    """DATA as the wire carries it: CRLF lines, leading dots doubled, the end dot."""
    text = raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    if not text.endswith(b"\r\n"):
        text += b"\r\n"
    if text.startswith(b"."):
        text = b"." + text
    return text.replace(b"\r\n.", b"\r\n..") + b".\r\n"


def rss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def children(pid: int) -> list[int]:
    """Direct children (a worker's work horse), from /proc."""
    path = Path(f"/proc/{pid}/task/{pid}/children")
    try:
        return [int(child) for child in path.read_text().split()]
    except OSError:
        return []


def group_rss_kb(pid: int) -> int:
    """A worker and its work horse together: both count, as both are resident
    (shared copy-on-write pages counted twice, so this errs high)."""
    return rss_kb(pid) + sum(rss_kb(child) for child in children(pid))


def cpu_seconds(pid: int) -> float:
    """User and system time of a process, of the children it has reaped (the
    work horses of finished jobs) and of those still running (a work horse
    whose drain job is still waiting for mail): a live child's time reaches
    its parent's counters only when it is reaped."""
    return _own_and_reaped_seconds(pid) + sum(
        _own_and_reaped_seconds(child) for child in children(pid)
    )


class ProcessMeter:
    """CPU time of a changing set of processes (a database's backends come and
    go with the work horses' connections), sampled from /proc: each pid counts
    from its first sample (0 for a process born after the start) to its last.
    What a process spends after its last sample is lost, so sample often."""

    def __init__(self) -> None:
        self.first: dict[int, float] = {}
        self.last: dict[int, float] = {}

    def start(self, pids) -> None:
        for pid in pids:
            self.first[pid] = self.last[pid] = _own_seconds(pid)

    def sample(self, pids) -> None:
        for pid in pids:
            seconds = _own_seconds(pid)
            if seconds or pid not in self.last:
                self.first.setdefault(pid, 0.0)
                self.last[pid] = seconds

    @property
    def seconds(self) -> float:
        return sum(self.last[pid] - self.first[pid] for pid in self.last)


def _own_seconds(pid: int) -> float:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _own_and_reaped_seconds(pid: int) -> float:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = stat.rsplit(")", 1)[1].split()
    # Fields 14-17 of proc(5): utime, stime, cutime, cstime (here from index 11).
    ticks = sum(int(value) for value in fields[11:15])
    return ticks / os.sysconf("SC_CLK_TCK")
