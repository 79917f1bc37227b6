"""The ingest benchmark's moving parts: MTA-like clients delivering over LMTP on
several connections at once, and what the processes it starts cost (resident
memory of a worker with its work horse, CPU time including reaped children).

Nothing here touches the database; ``bench_ingest`` wires it up.
"""

import asyncio
import os
import threading
import time
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
            asyncio.run(
                _deliver_all(host, port, messages, connections, recipient, state)
            )
        except BaseException as error:  # noqa: BLE001 - reported by the command
            state.error = error
        finally:
            state.finished = time.monotonic()
            state.cpu = time.thread_time()
            state.done.set()

    state.started = time.monotonic()
    threading.Thread(target=run, name="lmtp-clients", daemon=True).start()
    return state


async def _deliver_all(host, port, messages, connections, recipient, state) -> None:
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    for raw in messages:
        queue.put_nowait(_data(raw))
    await asyncio.gather(
        *(_connection(host, port, queue, recipient, state) for _ in range(connections))
    )


async def _connection(host, port, queue, recipient, state) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    await _reply(reader)
    writer.write(b"LHLO bench.isp.example\r\n")
    is_pipelining = b"PIPELINING" in await _reply(reader)
    envelope = (
        b"MAIL FROM:<MAILER-DAEMON@mx.example.com>\r\n",
        f"RCPT TO:<{recipient}>\r\n".encode(),
        b"DATA\r\n",
    )
    while not queue.empty():
        data = queue.get_nowait()
        while True:
            if is_pipelining:
                # As Postfix's LMTP client does when offered PIPELINING: the
                # envelope in one write, then its three replies.
                writer.write(b"".join(envelope))
                for _ in envelope:
                    answer = await _reply(reader)
            else:
                for command in envelope:
                    writer.write(command)
                    answer = await _reply(reader)
            if not answer.startswith(b"354"):
                raise RuntimeError(f"DATA refused: {answer!r}")
            writer.write(data)
            answer = await _reply(reader)
            if answer.startswith(b"250"):
                state.delivered += 1
                break
            if answer.startswith(b"4"):
                state.retried += 1
                await asyncio.sleep(RETRY_AFTER_SECONDS)
                continue
            state.refused.append(answer.decode(errors="replace"))
            break
    writer.write(b"QUIT\r\n")
    await _reply(reader)
    writer.close()


async def _reply(reader: asyncio.StreamReader) -> bytes:
    """One reply, its lines joined (LHLO's lists the extensions)."""
    lines = []
    while True:
        line = await reader.readline()
        if not line:
            raise ConnectionError("the LMTP server closed the connection")
        lines.append(line)
        if line[3:4] != b"-":
            return b"".join(lines)


def _data(raw: bytes) -> bytes:
    """DATA as the wire carries it: CRLF lines, leading dots doubled, the end dot."""
    lines = raw.replace(b"\r\n", b"\n").split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    stuffed = (b"." + line if line.startswith(b".") else line for line in lines)
    return b"\r\n".join(stuffed) + b"\r\n.\r\n"


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
