"""The load generator of ``manage.py bench_policy``, run as a process of its own
(``python -m outbound.policy.loadgen``) so that the client's CPU is not taken
from the server it measures, and kept cheap: one epoll loop over non-blocking
sockets, requests built before the run, no Django and no asyncio.

Each connection behaves as one Postfix smtpd process does: one request, wait
for the answer, the next request. Latencies (seconds, after the warm-up) are
written to ``--out`` as an array of doubles; the last line on stdout is
``answers=N cpu_s=N``.
"""

import argparse
import array
import random
import select
import socket
import time

RELAY = "bench.invalid"
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
    __slots__ = ("sock", "requests", "at", "sent_at")

    def __init__(self, sock: socket.socket, requests: list[bytes]) -> None:
        self.sock = sock
        self.requests = requests
        self.at = 0
        self.sent_at = 0.0

    def send_next(self) -> None:
        self.at = (self.at + 1) % len(self.requests)
        self.sent_at = time.perf_counter()
        self.sock.send(self.requests[self.at])


def drive(
    *,
    host: str,
    port: int,
    connections: int,
    warmup: float,
    seconds: float,
    accounts: int,
    seed: int,
) -> array.array:
    rng = random.Random(seed)  # noqa: S311 - spreads the load, not a secret
    poller = select.epoll()
    by_fd: dict[int, _Connection] = {}
    for _ in range(connections):
        sock = socket.create_connection((host, port))
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.setblocking(False)
        first = rng.randrange(1 << 30)
        requests = [
            bench_request(first + i, accounts) for i in range(REQUESTS_PER_CONNECTION)
        ]
        by_fd[sock.fileno()] = _Connection(sock, requests)
        poller.register(sock.fileno(), select.EPOLLIN)
    latencies = array.array("d")
    record_from = time.perf_counter() + warmup
    deadline = record_from + seconds
    for connection in by_fd.values():
        connection.send_next()
    partial: dict[int, bytes] = {}
    now = time.perf_counter()
    while now < deadline:
        events = poller.poll(0.5)
        now = time.perf_counter()
        for fd, _mask in events:
            connection = by_fd[fd]
            data = partial.pop(fd, b"") + connection.sock.recv(65536)
            if not data:
                raise ConnectionError("the policy server closed a connection")
            if not data.endswith(b"\n\n"):
                partial[fd] = data
                continue
            if connection.sent_at >= record_from:
                latencies.append(now - connection.sent_at)
            if now < deadline:
                connection.send_next()
    for connection in by_fd.values():
        connection.sock.close()
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
    )
    with open(options.out, "wb") as out:
        latencies.tofile(out)
    print(f"answers={len(latencies)} cpu_s={time.process_time():.3f}")  # noqa: T201


if __name__ == "__main__":
    main()
