"""Running the desk on a simulated mailbox the way production runs: a database of
its own, ``import_subscribers``, ``import_mail`` and two real ``rqworker``
processes, with the ISP's settings from the mailbox's ``isp.env``.

Every process is started here, waited for, and stopped here by its pid.
"""

import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import environ
import psycopg
import psycopg.sql
import redis
from django.conf import settings
from rq import Queue
from rq.registry import StartedJobRegistry

from abusedesk.checkservices import create_database

BENCH_SUFFIX = "_bench_linking"
QUEUES = ("ingest", "default")


def bench_database_url(url: str) -> str:
    """The benchmark's own database beside ``url``: ``<name>_bench_linking``,
    or ``url`` itself when it already names such a database."""
    parts = urlsplit(url)
    name = parts.path.lstrip("/") or "abusedesk"
    if "bench_linking" not in name:
        name += BENCH_SUFFIX
    return urlunsplit(parts._replace(path=f"/{name}"))


def recreate_database(url: str) -> None:
    config = environ.Env.db_url_config(url)
    with psycopg.connect(
        host=config.get("HOST") or "127.0.0.1",
        port=config.get("PORT") or 5432,
        user=config.get("USER") or "postgres",
        password=config.get("PASSWORD") or None,
        dbname="postgres",
        autocommit=True,
        connect_timeout=3,
    ) as conn:
        conn.execute(
            psycopg.sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                psycopg.sql.Identifier(config["NAME"])
            )
        )
    create_database(url)


def read_env_file(path: Path) -> dict[str, str]:
    values = {}
    for line in path.read_text().splitlines():
        key, sep, value = line.partition("=")
        if sep and key.strip() and not key.lstrip().startswith("#"):
            values[key.strip()] = value.strip()
    return values


def ordered_files(maildir: Path, order: str, seed: int) -> list[Path]:
    """The Maildir's files in the order ``import_mail`` would take them
    (sorted by key), reversed or shuffled."""
    files = sorted(
        (p for sub in ("new", "cur") for p in (maildir / sub).iterdir()),
        key=lambda p: p.name.split(":", 1)[0],
    )
    if order == "reversed":
        files.reverse()
    elif order == "shuffled":
        random.Random(seed).shuffle(files)  # noqa: S311  (a reproducible order)
    return files


class Run:
    """One import of a mailbox into a fresh database; ``say`` prints progress."""

    def __init__(self, *, directory: Path, database_url: str, workers: int,
                 say: Callable[[str], None]) -> None:  # fmt: skip
        self.directory = directory
        self.database_url = database_url
        self.workers = workers
        self.say = say
        self.manage = [sys.executable, str(Path(settings.BASE_DIR) / "manage.py")]
        self.env = dict(os.environ)
        self.env.update(read_env_file(directory / "isp.env"))
        self.env.update(
            DATABASE_URL=database_url,
            ABUSE_AUTO_STRIKE="1",
            DJANGO_LOG_LEVEL="WARNING",
            EMAIL_URL="dummymail://",
        )
        self.env.setdefault("DJANGO_SECRET_KEY", "bench-only-secret")
        self.redis = redis.Redis.from_url(self.env.get("REDIS_URL", settings.REDIS_URL))
        self.procs: list[subprocess.Popen] = []

    def call(self, *args: str) -> None:
        subprocess.run([*self.manage, *args], env=self.env, check=True)  # noqa: S603

    def prepare(self) -> None:
        recreate_database(self.database_url)
        self.call("migrate", "-v0")
        for name in QUEUES:
            Queue(name, connection=self.redis).empty()
        self.call("import_subscribers", str(self.directory / "subscribers.csv"))

    def start_workers(self) -> None:
        for n in range(self.workers):
            # The workers' own log goes to a file beside the mailbox, not the screen.
            log = (self.directory / f"worker-{n + 1}.log").open("wb")
            self.procs.append(
                subprocess.Popen(  # noqa: S603
                    [*self.manage, "rqworker", *QUEUES],
                    env=self.env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )
            log.close()
        # The retries' scheduler and the sweep, as production runs them.
        log = (self.directory / "periodic.log").open("wb")
        self.procs.append(
            subprocess.Popen(  # noqa: S603
                [*self.manage, "run_periodic"],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        )
        log.close()

    def import_mail(self, order: str, seed: int) -> None:
        maildir = self.directory / "Maildir"
        if order == "maildir":
            self.call("import_mail", "--no-progress", str(maildir))
            return
        files = [str(p) for p in ordered_files(maildir, order, seed)]
        self.call("import_mail", "--no-progress", *files)

    def wait(self, *, total: int, timeout: float) -> float:
        """Block until nothing is pending and the queues are idle; returns seconds."""
        started = time.monotonic()
        idle_rounds, last_print = 0, 0.0
        while time.monotonic() - started < timeout:
            pending = self._pending()
            busy = sum(
                Queue(name, connection=self.redis).count
                + StartedJobRegistry(name, connection=self.redis).count
                for name in QUEUES
            )
            if time.monotonic() - last_print > 5:
                self.say(
                    f"  {total - pending}/{total} processed, {busy} jobs queued or running"
                )
                last_print = time.monotonic()
            idle_rounds = idle_rounds + 1 if pending == 0 and busy == 0 else 0
            if idle_rounds >= 2:
                break
            if any(p.poll() is not None for p in self.procs):
                raise RuntimeError("a worker exited early")
            time.sleep(1)
        return time.monotonic() - started

    def _pending(self) -> int:
        config = environ.Env.db_url_config(self.database_url)
        with psycopg.connect(
            host=config.get("HOST") or "127.0.0.1", port=config.get("PORT") or 5432,
            user=config.get("USER") or "postgres", password=config.get("PASSWORD") or None,
            dbname=config["NAME"], connect_timeout=3,
        ) as conn:  # fmt: skip
            row = conn.execute(
                "SELECT count(*) FROM complaints_inboundmessage WHERE state = 'pending'"
            ).fetchone()
        return row[0]

    def stop(self) -> None:
        """Warm shutdown by pid (SIGTERM lets the current job finish), then kill."""
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 30
        for proc in self.procs:
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.procs.clear()

    def score(self, groups_out: Path) -> str:
        """The figures, as the scoring step prints them."""
        done = subprocess.run(  # noqa: S603
            [*self.manage, "bench_linking", "--score-only", "--dir", str(self.directory),
             "--groups-out", str(groups_out)],
            env=self.env, check=True, capture_output=True, text=True,
        )  # fmt: skip
        return done.stdout
