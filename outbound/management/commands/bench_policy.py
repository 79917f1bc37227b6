"""``manage.py bench_policy``: decisions per second and latency of the policy
service, over loopback, with Redis counters, the status cache and submission
recording on.

Starts ``policy_server`` (``--processes`` of them on one port), puts
``--accounts`` bench logins in the status cache, and drives it from
``--connections`` concurrent connections for ``--seconds`` after a second of
warm-up, spread over ``--clients`` load generator processes
(``outbound.policy.loadgen``). Afterwards it removes its logins, counters and stream entries
(relay host ``bench.invalid``). The last line is
``decisions_per_s=N p50_ms=N p99_ms=N``.
"""

import array
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from accounts.status_cache import LOGIN_KEY, STATUS_KEY, cache_client
from outbound.policy.counters import COUNTER_PREFIX
from outbound.policy.loadgen import RELAY
from outbound.policy.recorder import STREAM_KEY

BASE_SID = 900_000_000


def _cpu_seconds(pid: int) -> float:
    """User and system CPU of a process and its children, from /proc (Linux)."""
    total = 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        for task in Path(f"/proc/{pid}/task").iterdir():
            for child in (task / "children").read_text().split():
                total += _cpu_seconds(int(child))
    except OSError:
        pass
    return total


def _redis_cpu_seconds(client) -> float:
    info = client.info("cpu")
    return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])


class Command(BaseCommand):
    help = "Benchmark the policy service over loopback."

    def add_arguments(self, parser):
        parser.add_argument("--connections", type=int, default=50)
        parser.add_argument("--seconds", type=float, default=10.0)
        parser.add_argument("--accounts", type=int, default=10_000)
        parser.add_argument(
            "--processes",
            type=int,
            default=2,
            help="policy server processes (default 2: one per core of the 2-core "
            "machine the issue's figure is for)",
        )
        parser.add_argument(
            "--clients", type=int, default=1, help="load generator processes"
        )
        parser.add_argument(
            "--rate",
            type=float,
            default=5000.0,
            help="decisions/s offered in the second phase (the last line); 0 skips it",
        )

    def handle(self, *args, connections, seconds, accounts, processes, clients, **o):
        rate = o["rate"]
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
                "--processes",
                str(processes),
                "--no-cache-load",
                "--no-drain-jobs",
            ],
            stdout=subprocess.PIPE,
            env=os.environ.copy(),
        )
        try:
            line = server.stdout.readline().decode()
            port = int(line.rsplit(" ", 1)[1])
            drive = {
                "client": client,
                "server_pid": server.pid,
                "port": port,
                "connections": connections,
                "seconds": seconds,
                "accounts": accounts,
                "clients": clients,
            }
            with tempfile.TemporaryDirectory() as tmp:
                flat_out = self._drive(**drive, rate=0, tmp=Path(tmp))
                offered = (
                    self._drive(**drive, rate=rate, tmp=Path(tmp)) if rate else None
                )
        finally:
            server.terminate()
            server.wait(timeout=30)
            self._clean(client, accounts, start_id)
        self._report(
            flat_out,
            connections,
            seconds,
            "flat out (each connection sends its next request when the answer is in)",
        )
        if offered is not None:
            self._report(
                offered,
                connections,
                seconds,
                f"offered {rate:.0f}/s on a "
                "fixed schedule (latency from when each request was due)",
            )

    def _drive(
        self,
        *,
        client,
        server_pid,
        port,
        connections,
        seconds,
        accounts,
        clients,
        rate,
        tmp,
    ):
        warmup = 1.0
        spread = [
            connections // clients + (i < connections % clients) for i in range(clients)
        ]
        server_cpu = _cpu_seconds(server_pid)
        redis_cpu = _redis_cpu_seconds(client)
        generators = [
            subprocess.Popen(  # noqa: S603 - our own module
                [
                    sys.executable,
                    "-m",
                    "outbound.policy.loadgen",
                    "--port",
                    str(port),
                    "--connections",
                    str(count),
                    "--warmup",
                    str(warmup),
                    "--seconds",
                    str(seconds),
                    "--accounts",
                    str(accounts),
                    "--seed",
                    str(i),
                    "--rate",
                    str(rate * count / connections),
                    "--out",
                    str(tmp / f"latencies-{i}"),
                ],
                cwd=settings.BASE_DIR,
                stdout=subprocess.PIPE,
            )
            for i, count in enumerate(spread)
        ]
        # The CPU counts include the warm-up second; the rate does not.
        client_cpu = 0.0
        for generator in generators:
            out, _err = generator.communicate(timeout=seconds + 60)
            if generator.returncode:
                raise CommandError("a load generator failed")
            client_cpu += float(out.decode().split("cpu_s=")[1])
        latencies = array.array("d")
        for i in range(clients):
            latencies.frombytes((tmp / f"latencies-{i}").read_bytes())
        return {
            "latencies": sorted(latencies),
            "server_cpu": _cpu_seconds(server_pid) - server_cpu,
            "redis_cpu": _redis_cpu_seconds(client) - redis_cpu,
            "client_cpu": client_cpu,
            "warmup": warmup,
        }

    def _report(self, result, connections, seconds, phase):
        latencies = result["latencies"]
        if not latencies:
            raise CommandError("no answers")
        rate = len(latencies) / seconds
        p50 = latencies[len(latencies) // 2] * 1000
        p99 = latencies[int(len(latencies) * 0.99)] * 1000
        self.stdout.write(
            f"{phase}: {len(latencies)} decisions over {seconds:.1f} s, "
            f"{connections} connections"
        )
        # CPU per decision (the warm-up's decisions estimated at the same rate):
        # what the server, Redis and the load generator each cost, whatever else
        # the machine is doing at the time. Redis is shared; its figure includes
        # anything else using it meanwhile.
        decided = len(latencies) * (seconds + result["warmup"]) / seconds
        self.stdout.write(
            "cpu_us_per_decision "
            f"server={result['server_cpu'] / decided * 1e6:.0f} "
            f"redis={result['redis_cpu'] / decided * 1e6:.0f} "
            f"load_generator={result['client_cpu'] / decided * 1e6:.0f} "
            f"load_average={os.getloadavg()[0]:.2f}"
        )
        self.stdout.write(
            f"decisions_per_s={rate:.0f} p50_ms={p50:.2f} p99_ms={p99:.2f}"
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
        keys = list(client.scan_iter(f"{COUNTER_PREFIX}l:bench-*", count=5000))
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
