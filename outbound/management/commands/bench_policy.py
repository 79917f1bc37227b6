"""``manage.py bench_policy``: decisions per second and latency of the policy
service, over loopback, with Redis counters, the status cache and submission
recording on.

Starts ``policy_server`` in its own process, puts ``--accounts`` bench logins in
the status cache, and drives it from ``--connections`` concurrent connections
for ``--seconds``. Afterwards it removes its logins, counters and stream entries
(relay host ``bench.invalid``). The last line is
``decisions_per_s=N p50_ms=N p99_ms=N``.
"""

import asyncio
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand

from accounts.status_cache import LOGIN_KEY, STATUS_KEY, cache_client
from outbound.policy.counters import PREFIX
from outbound.policy.recorder import STREAM_KEY
from outbound.policy.run import run

RELAY = "bench.invalid"
BASE_SID = 900_000_000


def _request(n: int, accounts: int) -> bytes:
    login = f"bench-{n % accounts}"
    octet = (n % accounts) % 250
    return (
        "request=smtpd_access_policy\nprotocol_state=DATA\nprotocol_name=ESMTP\n"
        f"client_address=198.18.{octet}.{1 + n % 7}\nclient_name=host.example\n"
        f"helo_name=client.example\nsender={login}@isp.example\n"
        f"recipient=friend@example.org\nrecipient_count={1 + n % 5}\n"
        f"queue_id=B{n:09X}\nsasl_method=PLAIN\nsasl_username={login}\n"
        f"size={1000 + n % 5000}\npolicy_context={RELAY}\n\n"
    ).encode()


async def _connection(
    port: int, deadline: float, warmup: float, accounts: int, out: list
):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    n = random.randrange(1 << 30)  # noqa: S311 - spreads load, not a secret
    while True:
        started = time.perf_counter()
        if started > deadline:
            break
        writer.write(_request(n, accounts))
        await reader.readuntil(b"\n\n")
        if started > warmup:
            out.append(time.perf_counter() - started)
        n += 1
    writer.close()


def _cpu_seconds(pid: int) -> float:
    """User and system CPU of a process, from /proc (Linux)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Command(BaseCommand):
    help = "Benchmark the policy service over loopback."

    def add_arguments(self, parser):
        parser.add_argument("--connections", type=int, default=50)
        parser.add_argument("--seconds", type=float, default=10.0)
        parser.add_argument("--accounts", type=int, default=10_000)

    def handle(self, *args, connections, seconds, accounts, **options):
        client = cache_client()
        self._seed(client, accounts)
        start_id = (
            client.xinfo_stream(STREAM_KEY)["last-generated-id"]
            if client.exists(STREAM_KEY)
            else b"0-0"
        )
        server = subprocess.Popen(  # noqa: S603 - our own command
            [
                sys.executable,
                str(Path(settings.BASE_DIR) / "manage.py"),
                "policy_server",
                "--listen",
                "127.0.0.1:0",
                "--no-cache-load",
                "--no-drain-jobs",
            ],
            stdout=subprocess.PIPE,
            env=os.environ.copy(),
        )
        try:
            line = server.stdout.readline().decode()
            port = int(line.rsplit(" ", 1)[1])
            latencies: list[float] = []
            cpu_before = _cpu_seconds(server.pid)
            began = time.perf_counter()
            warmup = began + 1.0
            deadline = warmup + seconds
            run(self._drive(port, connections, deadline, warmup, accounts, latencies))
            elapsed = time.perf_counter() - warmup
            server_cpu = _cpu_seconds(server.pid) - cpu_before
        finally:
            server.terminate()
            server.wait(timeout=30)
            self._clean(client, accounts, start_id)
        latencies.sort()
        rate = len(latencies) / elapsed
        p50 = latencies[len(latencies) // 2] * 1000
        p99 = latencies[int(len(latencies) * 0.99)] * 1000
        self.stdout.write(
            f"{len(latencies)} decisions over {elapsed:.1f} s, {connections} connections"
        )
        # CPU the server used per decision (warm-up included): what one core can
        # carry, whatever else the machine is doing at the time.
        per_us = server_cpu / max(len(latencies), 1) * 1e6
        self.stdout.write(
            f"server_cpu_us_per_decision={per_us:.0f} "
            f"load_average={os.getloadavg()[0]:.2f}"
        )
        self.stdout.write(
            f"decisions_per_s={rate:.0f} p50_ms={p50:.2f} p99_ms={p99:.2f}"
        )

    async def _drive(self, port, connections, deadline, warmup, accounts, out):
        await asyncio.gather(
            *(
                _connection(port, deadline, warmup, accounts, out)
                for _ in range(connections)
            )
        )

    def _seed(self, client, accounts: int) -> None:
        pipe = client.pipeline(transaction=False)
        for i in range(accounts):
            pipe.hset(LOGIN_KEY, f"bench-{i}", str(BASE_SID + i))
            pipe.hset(STATUS_KEY, str(BASE_SID + i), "active")
        pipe.execute()

    def _clean(self, client, accounts: int, start_id) -> None:
        pipe = client.pipeline(transaction=False)
        for i in range(accounts):
            pipe.hdel(LOGIN_KEY, f"bench-{i}")
            pipe.hdel(STATUS_KEY, str(BASE_SID + i))
        pipe.execute()
        for pattern in (f"{PREFIX}:w:*:l:bench-*", f"{PREFIX}:w:n:bench-*"):
            keys = list(client.scan_iter(pattern, count=5000))
            for at in range(0, len(keys), 1000):
                client.delete(*keys[at : at + 1000])
        # Only the bench's own stream entries go; real records stay for the drain.
        for entry_id, fields in client.xrange(
            STREAM_KEY,
            min=f"({start_id.decode() if isinstance(start_id, bytes) else start_id}",
        ):
            records = json.loads(fields[b"r"])
            if all(r.get("h") == RELAY for r in records):
                client.xdel(STREAM_KEY, entry_id)
