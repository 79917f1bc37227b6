"""`make run`'s launcher: every way of ending it stops every process it started,
and a port already taken is said in one line.

These start the real desk (embedded Redis, worker, periodic jobs, runserver) on
a free loopback port with a SQLite database in a temporary directory.
"""

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from django.conf import settings

BASE_DIR = Path(settings.BASE_DIR)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def desk_env(tmp_path_factory):
    var = tmp_path_factory.mktemp("desk-var")
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "ABUSE_", "REDIS_URL", "DATABASE_URL"))
    }
    env.update(
        DJANGO_DEBUG="1",
        ABUSE_VAR_DIR=str(var),
        DATABASE_URL=f"sqlite:///{var / 'db.sqlite3'}",
        DJANGO_LOG_LEVEL="WARNING",
    )
    subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", "migrate", "-v0", "--no-input"],
        cwd=BASE_DIR,
        env=env,
        check=True,
        timeout=180,
    )
    return env


def _children(pid: int) -> set[int]:
    """Every descendant of ``pid``, from /proc."""
    parents = {}
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                stat = (proc / "stat").read_text()
            except OSError:
                continue
            parents[int(proc.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found, frontier = set(), {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier}
        found |= frontier
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _wait_up(port: int, launcher: subprocess.Popen) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        assert launcher.poll() is None, "the launcher exited early"
        try:
            with urllib.request.urlopen(  # noqa: S310
                f"http://127.0.0.1:{port}/healthz/", timeout=2
            ) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise AssertionError("the desk did not come up")


def _start(desk_env, command: list[str]) -> tuple[subprocess.Popen, int]:
    port = _free_port()
    process = subprocess.Popen(  # noqa: S603
        command,
        cwd=BASE_DIR,
        env={**desk_env, "PORT": str(port)},
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return process, port


def _all_gone(pids: set[int], timeout: float = 40) -> set[int]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        left = {pid for pid in pids if _alive(pid)}
        if not left:
            return set()
        time.sleep(0.3)
    return left


def test_sighup_to_the_process_group_leaves_no_desk_process(desk_env):
    launcher, port = _start(desk_env, [sys.executable, "-m", "abusedesk.launcher"])
    try:
        _wait_up(port, launcher)
        started = _children(launcher.pid)
        assert len(started) >= 4  # redis, worker, periodic, web (and their own)
        os.killpg(launcher.pid, signal.SIGHUP)
        launcher.wait(timeout=40)
        assert _all_gone(started | {launcher.pid}) == set()
    finally:
        for pid in _children(launcher.pid) | {launcher.pid}:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)


def test_killing_the_starter_stops_the_desk(desk_env):
    # A stand-in for make: a parent that starts the launcher, then is killed
    # with SIGKILL, which nothing can catch.
    starter, port = _start(
        desk_env,
        [
            sys.executable,
            "-c",
            "import subprocess, sys; "
            "subprocess.run([sys.executable, '-m', 'abusedesk.launcher'])",
        ],
    )
    try:
        _wait_up(port, starter)
        started = _children(starter.pid)
        starter.kill()
        starter.wait(timeout=10)
        assert _all_gone(started) == set()
    finally:
        for pid in _children(starter.pid) | started:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)


def test_a_port_in_use_is_reported_in_one_line(desk_env):
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        result = subprocess.run(  # noqa: S603
            [sys.executable, "-m", "abusedesk.launcher", "--check-port"],
            cwd=BASE_DIR,
            env={**desk_env, "PORT": str(port)},
            capture_output=True,
            text=True,
            timeout=30,
        )
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert f"Port {port} is already in use by process {os.getpid()}" in lines[0]
    assert f"PORT={port + 1} make run" in lines[0]
