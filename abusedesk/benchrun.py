"""``make bench``: every figure of the desk in one run.

Runs each bench command in turn (parse, ingest on the populated history, pages,
support, policy), shows its output as it comes, and appends its last line (the
``key=value`` pairs every bench command ends with) to var/bench-history.csv with
the commit, the date, the load average and whether the database was vacuumed.
A bench that fails is recorded as failed and the run goes on; the exit status
says whether all passed.

    python -m abusedesk.benchrun [--scale default|small] [--vacuum] [--only NAME...]

The database is DATABASE_URL's, filled by ``populate_scale --reuse`` first (a
population of the size asked for is kept; another is emptied and refilled).
"""

import argparse
import csv
import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
HISTORY = BASE_DIR / "var" / "bench-history.csv"
COLUMNS = ["date", "commit", "bench", "scale", "load_1m", "vacuumed", "status"]
COLUMNS += ["seconds", "figures"]

# Per scale: the bench commands' arguments, kept short enough for one sitting.
SCALE_ARGS = {
    "default": {
        "ingest": ["--messages", "20000"],
        "pages": ["--seconds", "10"],
        "support": ["--requests", "200"],
        "policy": ["--seconds", "10"],
        "parse": [],
    },
    "small": {
        "ingest": ["--messages", "2000"],
        "pages": ["--seconds", "3"],
        "support": ["--requests", "50"],
        "policy": ["--seconds", "3"],
        "parse": ["--min-messages", "700"],
    },
}


def _commands(scale: str, ports: tuple[int, int]) -> dict[str, list[str]]:
    args = SCALE_ARGS[scale]
    return {
        "parse": ["bench_parse", *args["parse"]],
        "ingest": ["bench_ingest", "--keep-history", *args["ingest"]],
        "pages": ["bench_pages", "--port", str(ports[0]), *args["pages"]],
        "support": ["bench_support", "--port", str(ports[1]), *args["support"]],
        "policy": ["bench_policy", *args["policy"]],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", choices=sorted(SCALE_ARGS), default="default")
    parser.add_argument("--vacuum", action="store_true", help="VACUUM ANALYZE first")
    parser.add_argument("--only", nargs="*", default=None, metavar="NAME")
    parser.add_argument("--pages-port", type=int, default=8765)
    parser.add_argument("--support-port", type=int, default=8766)
    options = parser.parse_args(argv)
    manage = [sys.executable, str(BASE_DIR / "manage.py")]
    _run([*manage, "migrate", "-v0"])
    _run([*manage, "populate_scale", "--scale", options.scale, "--reuse"])
    if options.vacuum:
        _run([*manage, "dbshell", "--", "-c", "VACUUM (ANALYZE)"])
    commit = _commit()
    commands = _commands(options.scale, (options.pages_port, options.support_port))
    failed = []
    for name, command in commands.items():
        if options.only and name not in options.only:
            continue
        _say(f"== {name}: manage.py {' '.join(command)}")
        started = time.monotonic()
        code, last = _run_capturing_last([*manage, *command])
        figures = last if code == 0 else f"exit={code} {last}"
        if code:
            failed.append(name)
        _append(
            {
                "date": datetime.now(UTC).isoformat(timespec="seconds"),
                "commit": commit,
                "bench": name,
                "scale": options.scale,
                "load_1m": f"{os.getloadavg()[0]:.2f}",
                # The parser's figures use no database.
                "vacuumed": "n/a"
                if name == "parse"
                else _field(last, "vacuumed") or _vacuumed(manage),
                "status": "ok" if code == 0 else "failed",
                "seconds": f"{time.monotonic() - started:.0f}",
                "figures": figures,
            }
        )
    _say(f"appended to {HISTORY}; failed: {', '.join(failed) or 'none'}")
    return 1 if failed else 0


def _say(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def _run(command: list[str]) -> None:
    subprocess.run(command, check=True, cwd=BASE_DIR)  # noqa: S603


def _run_capturing_last(command: list[str]) -> tuple[int, str]:
    """Run, echoing stdout as it comes; return the exit status and the last
    non-empty stdout line."""
    last = ""
    with subprocess.Popen(  # noqa: S603
        command, cwd=BASE_DIR, stdout=subprocess.PIPE, text=True, bufsize=1
    ) as process:
        for line in process.stdout:
            sys.stdout.write(line)
            if line.strip():
                last = line.strip()
    return process.returncode, last


def _field(line: str, key: str) -> str:
    for pair in line.split():
        name, _, value = pair.partition("=")
        if name == key:
            return value
    return ""


def _vacuumed(manage: list[str]) -> str:
    probe = (
        "from abusedesk.benchhttp import vacuum_state;print(vacuum_state(vacuum=False))"
    )
    result = subprocess.run(  # noqa: S603
        [*manage, "shell", "-c", probe], cwd=BASE_DIR, capture_output=True, text=True
    )
    return result.stdout.strip().splitlines()[-1] if result.returncode == 0 else "?"


def _commit() -> str:
    result = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"],  # noqa: S607
        cwd=BASE_DIR,
        capture_output=True,
        text=True,
    )
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=no"],  # noqa: S607
        cwd=BASE_DIR,
        capture_output=True,
        text=True,
    ).stdout.strip()
    return result.stdout.strip() + ("+dirty" if dirty else "")


def _append(row: dict[str, str]) -> None:
    HISTORY.parent.mkdir(parents=True, exist_ok=True)
    is_new = not HISTORY.exists()
    with HISTORY.open("a", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        if is_new:
            writer.writeheader()
        writer.writerow(row)


if __name__ == "__main__":
    sys.exit(main())
