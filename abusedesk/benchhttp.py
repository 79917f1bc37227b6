"""What the page benchmarks share: the desk under gunicorn as production runs it,
a logged-in session, a real HTTP load tool (wrk, Debian's package) driving
concurrent clients, a client that follows redirects to the rendered page, and
whether the database was vacuumed.

Every bench command ends with one line of space-separated ``key=value`` pairs
(``make bench`` appends it to var/bench-history.csv).
"""

import http.client
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth.models import Group, User
from django.db import connection
from django.test import Client

from complaints.bench.lmtp_load import ProcessMeter, children

# Lua for wrk: each connection walks the page's paths from its own offset (so
# eight clients do not all ask for the same row), sends the session cookie, and
# the summary is printed as key=value pairs, times in milliseconds.
WRK_SCRIPT = """
local paths = {}
for line in io.lines("%(paths)s") do paths[#paths + 1] = line end
local counter = 0
local cookie = "%(cookie)s"
function setup(thread)
  thread:set("offset", counter * 7919)
  counter = counter + 1
end
function init(args) n = offset end
-- A person reads a page before the next click: up to think_ms, at random.
local think_ms = %(think_ms)d
function delay()
  if think_ms == 0 then return 0 end
  return math.random(0, think_ms)
end
function request()
  n = n + 1
  local path = paths[(n %% #paths) + 1]
  return wrk.format("GET", path, {["Cookie"] = cookie, ["Host"] = "127.0.0.1"})
end
function done(summary, latency, requests)
  local bad = summary.errors.status + summary.errors.connect
    + summary.errors.read + summary.errors.write + summary.errors.timeout
  io.write(string.format(
    "WRK requests=%%d errors=%%d p50_ms=%%.1f p95_ms=%%.1f p99_ms=%%.1f max_ms=%%.1f\\n",
    summary.requests, bad, latency:percentile(50) / 1000,
    latency:percentile(95) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000))
end
"""


@dataclass(frozen=True)
class Figures:
    requests: int
    errors: int
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    # CPU per request of the gunicorn workers and of this database's
    # PostgreSQL backends (0 when not metered): what the latency queues behind
    # with more clients than cores, and what another's load hardly changes.
    web_cpu_ms: float = 0.0
    pg_cpu_ms: float = 0.0


def session_cookie(*, username: str, group: str) -> str:
    """A session for a bench user in ``group``, as a Cookie header value."""
    user, _ = User.objects.get_or_create(username=username)
    user.groups.add(Group.objects.get_or_create(name=group)[0])
    client = Client()
    client.force_login(user)
    name = settings.SESSION_COOKIE_NAME
    return f"{name}={client.cookies[name].value}"


class DeskServer:
    """gunicorn serving the desk on loopback, as the README's production line
    starts it (static files through whitenoise, after collectstatic)."""

    def __init__(
        self,
        *,
        port: int,
        workers: int,
        env: dict[str, str] | None = None,
        worker_class: str = "sync",
        threads: int = 1,
    ):
        self.port = port
        self.workers = workers
        self.worker_class = worker_class
        self.threads = threads
        self.env = dict(os.environ)
        self.env.update(
            {
                "DJANGO_DEBUG": "0",
                "DJANGO_SECRET_KEY": self.env.get("DJANGO_SECRET_KEY")
                or "bench-only-secret-key-0123456789-abcdefghij",
                "DJANGO_SECURE_SSL_REDIRECT": "0",
                "DJANGO_SESSION_COOKIE_SECURE": "0",
                "DJANGO_LOG_LEVEL": "WARNING",
                **(env or {}),
            }
        )
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> "DeskServer":
        manage = [sys.executable, str(settings.BASE_DIR / "manage.py")]
        collect = [*manage, "collectstatic", "--no-input", "-v0"]
        subprocess.run(collect, env=self.env, check=True)  # noqa: S603
        args = [sys.executable, "-m", "gunicorn", "abusedesk.wsgi"]
        args += ["--workers", str(self.workers), "--bind", f"127.0.0.1:{self.port}"]
        args += ["--worker-class", self.worker_class, "--threads", str(self.threads)]
        args += ["--log-level", "warning"]
        self.process = subprocess.Popen(args, env=self.env, cwd=settings.BASE_DIR)  # noqa: S603
        self._wait_ready()
        return self

    def __exit__(self, *exc) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=30)

    def worker_pids(self) -> list[int]:
        return children(self.process.pid) if self.process is not None else []

    def _wait_ready(self) -> None:
        for _ in range(200):
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                conn.request("GET", "/healthz/")
                if conn.getresponse().status == 200:
                    return
            except OSError:
                time.sleep(0.1)
        raise SystemExit("gunicorn did not start")

    def get(self, path: str, cookie: str) -> tuple[int, float, str]:
        """One GET following redirects to the rendered page: the final status,
        the whole time in milliseconds and the final path."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        headers = {"Cookie": cookie, "Host": "127.0.0.1"}
        started = time.perf_counter()
        for _ in range(5):
            conn.request("GET", path, headers=headers)
            response = conn.getresponse()
            response.read()
            location = response.getheader("Location")
            if response.status not in (301, 302, 303) or not location:
                break
            parts = urlsplit(location)
            path = parts.path + (f"?{parts.query}" if parts.query else "")
        elapsed = (time.perf_counter() - started) * 1000
        conn.close()
        return response.status, elapsed, path


def wrk_available() -> bool:
    return shutil.which("wrk") is not None


def wrk_run(
    *,
    port: int,
    cookie: str,
    paths: list[str],
    clients: int,
    seconds: int,
    think_ms: int = 0,
    meter: "CpuMeter | None" = None,
) -> Figures:
    """wrk with ``clients`` connections over two threads for ``seconds``; each
    client waits up to ``think_ms`` between its requests (0: none, a stress
    test rather than people). With ``meter``, the figures carry the CPU per
    request of the server's processes."""
    with tempfile.TemporaryDirectory() as folder:
        listing = Path(folder) / "paths.txt"
        listing.write_text("\n".join(paths) + "\n")
        script = Path(folder) / "pages.lua"
        script.write_text(
            WRK_SCRIPT % {"paths": listing, "cookie": cookie, "think_ms": think_ms}
        )
        args = ["wrk", "-t", str(min(2, clients)), "-c", str(clients)]
        args += ["-d", f"{seconds}s", "--timeout", "30s", "-s", str(script)]
        args.append(f"http://127.0.0.1:{port}")
        if meter is not None:
            meter.start()
        output = subprocess.run(  # noqa: S603
            args, capture_output=True, text=True, check=True
        ).stdout
        web_cpu, pg_cpu = meter.stop() if meter is not None else (0.0, 0.0)
    line = next(x for x in output.splitlines() if x.startswith("WRK "))
    values = dict(pair.split("=") for pair in line.split()[1:])
    requests = max(int(values["requests"]), 1)
    return Figures(
        requests=int(values["requests"]),
        errors=int(values["errors"]),
        p50_ms=float(values["p50_ms"]),
        p95_ms=float(values["p95_ms"]),
        p99_ms=float(values["p99_ms"]),
        max_ms=float(values["max_ms"]),
        web_cpu_ms=1000 * web_cpu / requests,
        pg_cpu_ms=1000 * pg_cpu / requests,
    )


class CpuMeter:
    """CPU seconds the desk's gunicorn workers and this database's PostgreSQL
    backends (but this process's own) spend between ``start`` and ``stop``."""

    def __init__(self, server: DeskServer):
        self.server = server
        self.web = ProcessMeter()
        self.pg = ProcessMeter()

    def start(self) -> None:
        self.web.start(self.server.worker_pids())
        self.pg.start(backend_pids())

    def stop(self) -> tuple[float, float]:
        self.web.sample(self.server.worker_pids())
        self.pg.sample(backend_pids())
        return self.web.seconds, self.pg.seconds


def backend_pids() -> list[int]:
    """The PostgreSQL backends serving this database, but this process's own
    (none elsewhere: SQLite has no server)."""
    if connection.vendor != "postgresql":
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid()"
        )
        return [pid for (pid,) in cursor.fetchall()]


def percentile(timings: list[float], share: float) -> float:
    if len(timings) < 2:
        return timings[0] if timings else 0.0
    return statistics.quantiles(timings, n=100, method="inclusive")[round(share) - 1]


def vacuum_state(*, vacuum: bool) -> str:
    """``yes`` when the big tables are vacuumed (by us now, or by autovacuum
    since they were loaded): nine tenths of their pages all-visible, which is
    what lets index-only scans skip the heap. Every figure says which it was
    measured on."""
    tables = ["complaints_complaint", "complaints_inboundmessage"]
    with connection.cursor() as cursor:
        if vacuum:
            for table in tables:
                cursor.execute(f"VACUUM (ANALYZE) {table}")
        cursor.execute(
            "SELECT COUNT(*) FROM pg_class WHERE relname = ANY(%s) "
            "AND relallvisible >= 0.9 * GREATEST(relpages, 1)",
            [tables],
        )
        vacuumed = cursor.fetchone()[0] == len(tables)
    return "yes" if vacuumed else "no"


def load_average() -> str:
    return f"{os.getloadavg()[0]:.2f}"
