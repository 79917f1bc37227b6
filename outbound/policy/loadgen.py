"""The load generator of ``manage.py bench_policy``, run as a process of its own
(``python -m outbound.policy.loadgen``) so that the client's CPU is not taken
from the server it measures, and kept cheap: one epoll loop over non-blocking
sockets, requests built before the run, no Django and no asyncio.

Each connection behaves as one Postfix smtpd process does: one request, wait
for the answer, the next request. Every answer is checked to be one policy
action (a run with any other fails). Latencies (seconds, after the warm-up) are
written to ``--out`` as an array of doubles; the last line on stdout is
``answers=N cpu_s=N``.
"""

import argparse
import array
import heapq
import random
import select
import socket
import time

RELAY = "bench.invalid"
# The answers a policy service may give Postfix (access(5) actions), each
# checked (one C call per answer): a server that answers junk fails the run.
VALID_ANSWERS = tuple(
    f"action={word}".encode()
    for word in (
        "PREPEND ",
        "DUNNO\n",
        "HOLD\n",
        "HOLD ",
        "REJECT\n",
        "REJECT ",
        "DEFER\n",
        "DEFER ",
        "DEFER_IF_PERMIT ",
        "OK\n",
    )
)
REQUESTS_PER_CONNECTION = 512


def bench_request(n: int, accounts: int) -> bytes:
    """A DATA-stage request of bench login ``n % accounts``, as Postfix sends it."""
    account = n % accounts
    login = f"bench-{account}"
    return (
        "request=smtpd_access_policy\nprotocol_state=DATA\nprotocol_name=ESMTP\n"
        f"client_address=198.18.{account % 250}.{1 + n % 7}\nclient_name=host.example\n"
        f"helo_name=client.example\nsender={login}@isp.example\n"
        f"recipient=friend@example.org\nrecipient_count={1 + n % 5}\n"
        f"queue_id=B{n:09X}\nsasl_method=PLAIN\nsasl_username={login}\n"
        f"size={1000 + n % 5000}\npolicy_context={RELAY}\n\n"
    ).encode()


class _Connection:
    __slots__ = ("sock", "requests", "at", "started")

    def __init__(self, sock: socket.socket, requests: list[bytes]) -> None:
        self.sock = sock
        self.requests = requests
        self.at = 0
        self.started = 0.0

    def send_next(self, started: float) -> None:
        self.at = (self.at + 1) % len(self.requests)
        self.started = started
        self.sock.send(self.requests[self.at])


def _connect(host, port, connections, accounts, seed) -> dict[int, _Connection]:
    rng = random.Random(seed)  # noqa: S311 - spreads the load, not a secret
    by_fd = {}
    for _ in range(connections):
        sock = socket.create_connection((host, port))
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.setblocking(False)
        first = rng.randrange(1 << 30)
        requests = [
            bench_request(first + i, accounts) for i in range(REQUESTS_PER_CONNECTION)
        ]
        by_fd[sock.fileno()] = _Connection(sock, requests)
    return by_fd


def drive(
    *,
    host: str,
    port: int,
    connections: int,
    warmup: float,
    seconds: float,
    accounts: int,
    seed: int,
    rate: float = 0.0,
) -> array.array:
    """Latencies of the answers after ``warmup``. With ``rate`` 0 each
    connection sends its next request as soon as the answer is in (the most the
    server can do); otherwise each sends ``rate / connections`` requests a
    second on a fixed schedule. A request the schedule wanted sent while the
    connection still waited for an answer goes at once, and its latency counts
    from when it was due, so a server that falls behind is not flattered."""
    by_fd = _connect(host, port, connections, accounts, seed)
    try:
        return _run(by_fd, warmup=warmup, seconds=seconds, rate=rate)
    finally:
        for connection in by_fd.values():
            connection.sock.close()


def _run(
    by_fd: dict[int, _Connection], *, warmup: float, seconds: float, rate: float
) -> array.array:
    connections = len(by_fd)
    poller = select.epoll()
    for fd in by_fd:
        poller.register(fd, select.EPOLLIN)
    latencies = array.array("d")
    start = time.perf_counter()
    record_from = start + warmup
    deadline = record_from + seconds
    period = connections / rate if rate else 0.0
    # (due time, fd) of the connections waiting to send, for a fixed rate.
    idle: list[tuple[float, int]] = []
    due_of: dict[int, float] = {}
    for n, (fd, connection) in enumerate(by_fd.items()):
        if period:
            due = start + period * n / connections
            due_of[fd] = due
            heapq.heappush(idle, (due, fd))
        else:
            connection.send_next(time.perf_counter())
    partial: dict[int, bytes] = {}
    now = time.perf_counter()
    while now < deadline:
        while idle and idle[0][0] <= now:
            _due, fd = heapq.heappop(idle)
            by_fd[fd].send_next(now)
        timeout = max(0.0, idle[0][0] - now) if idle else 0.5
        events = poller.poll(min(timeout, 0.5))
        now = time.perf_counter()
        for fd, _mask in events:
            connection = by_fd[fd]
            data = connection.sock.recv(4096)
            if fd in partial:
                data = partial.pop(fd) + data
            if not data:
                raise ConnectionError("the policy server closed a connection")
            if not data.endswith(b"\n\n"):
                partial[fd] = data
                continue
            if (
                not data.startswith(VALID_ANSWERS)
                or data.find(b"\n\n") != len(data) - 2
            ):
                raise ValueError(f"not one valid policy answer: {data[:200]!r}")
            if connection.started >= record_from:
                latencies.append(now - connection.started)
            if not period:
                connection.send_next(now)
                continue
            due = due_of[fd] = due_of[fd] + period
            if due <= now:
                connection.send_next(due)  # late because of the server
            else:
                heapq.heappush(idle, (due, fd))
    poller.close()
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--warmup", type=float, default=1.0)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--accounts", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--rate", type=float, default=0.0, help="requests/s in all; 0: flat out"
    )
    parser.add_argument("--out", required=True)
    options = parser.parse_args()
    latencies = drive(
        host=options.host,
        port=options.port,
        connections=options.connections,
        warmup=options.warmup,
        seconds=options.seconds,
        accounts=options.accounts,
        seed=options.seed,
        rate=options.rate,
    )
    with open(options.out, "wb") as out:
        latencies.tofile(out)
    print(f"answers={len(latencies)} cpu_s={time.process_time():.3f}")  # noqa: T201


if __name__ == "__main__":
    main()
