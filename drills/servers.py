"""Private PostgreSQL and Redis servers for drills and tests.

Each binds a free loopback port chosen when it starts, keeps its files under a
temporary directory of its own and removes them when stopped, so nothing here
touches the servers other work uses. Both can be stopped and started again on
the same port (a client reconnecting finds them where they were), and frozen
with SIGSTOP to play a server that hangs.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_for_port(port: int, *, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing answered on 127.0.0.1:{port}")


class PrivateRedis:
    """A redis-server of its own, without persistence."""

    def __init__(self, executable: str | None = None) -> None:
        self.executable = executable or shutil.which("redis-server") or "redis-server"
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="desk-redis-"))
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> PrivateRedis:
        self.process = subprocess.Popen(  # noqa: S603 - fixed argv
            [
                self.executable,
                "--port", str(self.port),
                "--bind", "127.0.0.1",
                "--dir", str(self.dir),
                "--save", "",
                "--appendonly", "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        _wait_for_port(self.port)
        return self

    def stop(self) -> None:
        if self.process is not None:
            self.process.send_signal(signal.SIGCONT)
            self.process.terminate()
            self.process.wait(timeout=20)
            self.process = None

    def freeze(self) -> None:
        if self.process is not None:
            self.process.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        if self.process is not None:
            self.process.send_signal(signal.SIGCONT)

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


class PrivatePostgres:
    """A PostgreSQL cluster of its own (initdb, then pg_ctl), trust auth on
    loopback only, for the drills."""

    def __init__(self, bindir: str | None = None) -> None:
        found = shutil.which("pg_ctl")
        self.bindir = Path(bindir) if bindir else Path(found).parent if found else None
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="desk-pg-"))
        self.data = self.dir / "data"
        self.process: subprocess.Popen | None = None
        self.user = "postgres"

    def _bin(self, name: str) -> str:
        return str(self.bindir / name) if self.bindir else name

    def _as_owner(self) -> dict:
        """initdb and postgres refuse to run as root: use the postgres account
        when there is one (the directory is handed to it)."""
        if os.geteuid() != 0:
            return {}
        import pwd

        owner = pwd.getpwnam("postgres")
        for path in (self.dir, self.data) if self.data.exists() else (self.dir,):
            os.chown(path, owner.pw_uid, owner.pw_gid)
        return {"user": owner.pw_uid, "group": owner.pw_gid}

    def url(self, database: str = "postgres") -> str:
        return f"postgres://{self.user}@127.0.0.1:{self.port}/{database}"

    def init(self) -> PrivatePostgres:
        owner = self._as_owner()
        subprocess.run(  # noqa: S603 - fixed argv
            [self._bin("initdb"), "-D", str(self.data), "-U", self.user,
             "-A", "trust", "--no-sync", "-E", "UTF8"],
            check=True, capture_output=True, **owner,
        )  # fmt: skip
        return self

    def start(self) -> PrivatePostgres:
        owner = self._as_owner()
        self.process = subprocess.Popen(  # noqa: S603 - fixed argv
            [self._bin("postgres"), "-D", str(self.data), "-p", str(self.port),
             "-c", "listen_addresses=127.0.0.1", "-c", f"unix_socket_directories={self.dir}",
             "-c", "fsync=off", "-c", "max_connections=50"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True, **owner,
        )  # fmt: skip
        _wait_for_port(self.port, timeout=60)
        self._wait_ready()
        return self

    def _wait_ready(self) -> None:
        import psycopg

        deadline = time.monotonic() + 60
        while True:
            try:
                psycopg.connect(self.url(), connect_timeout=2).close()
                return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def stop(self) -> None:
        if self.process is not None:
            self.process.send_signal(signal.SIGCONT)
            self.process.send_signal(signal.SIGINT)  # fast shutdown
            self.process.wait(timeout=60)
            self.process = None

    def freeze(self) -> None:
        """Every backend and the postmaster stop answering (a hung server)."""
        self._signal_all(signal.SIGSTOP)

    def thaw(self) -> None:
        self._signal_all(signal.SIGCONT)

    def _signal_all(self, sig: int) -> None:
        # The server runs in a session of its own, so its process group is the
        # postmaster and every backend it forked.
        if self.process is not None:
            os.killpg(self.process.pid, sig)

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)
