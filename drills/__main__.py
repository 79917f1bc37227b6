"""``python -m drills`` (``make drills``): run the failure drills, PASS or FAIL
per line, against a PostgreSQL cluster and a Redis of their own.

Both servers are started on spare loopback ports under a temporary directory
before Django is set up (so nothing can reach the servers other work uses), and
stopped and removed at the end, whatever happened. Exit status 1 when any
drill failed.
"""

from __future__ import annotations

import os
import sys
import time
import traceback

from drills.servers import PrivatePostgres, PrivateRedis, free_port


def _environment(pg: PrivatePostgres, redis: PrivateRedis, smtp_port: int) -> None:
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "abusedesk.settings",
            "DJANGO_DEBUG": "1",
            "DJANGO_ALLOWED_HOSTS": "testserver,localhost,127.0.0.1",
            "DJANGO_SECRET_KEY": "drills-only-secret",
            "DATABASE_URL": pg.url("abusedesk_drills"),
            "REDIS_URL": redis.url,
            "EMAIL_URL": f"smtp://127.0.0.1:{smtp_port}",
            "ABUSE_FROM_EMAIL": "abuse@isp.example",
            "ABUSE_PENDING_SWEEP_MINUTES": "0",
            "DJANGO_LOG_LEVEL": "CRITICAL",
            "DJANGO_CONN_MAX_AGE": "0",
            "PGCONNECT_TIMEOUT": "3",
        }
    )


def main() -> int:
    pg, redis = PrivatePostgres(), PrivateRedis()
    started = time.monotonic()
    try:
        pg.init().start()
        redis.start()
        import psycopg

        with psycopg.connect(pg.url(), autocommit=True) as conn:
            conn.execute("CREATE DATABASE abusedesk_drills")
        _environment(pg, redis, free_port())
        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        from drills import cases

        results = []
        for name, drill in cases.DRILLS:
            cases.reset()
            try:
                problem = drill(pg=pg, redis=redis)
            except Exception:  # noqa: BLE001 - a broken drill is a FAIL, not a crash
                problem = traceback.format_exc(limit=4).strip().splitlines()[-1]
            results.append(problem is None)
            verdict = "PASS" if problem is None else f"FAIL ({problem})"
            print(f"{verdict:4}  {name}", flush=True)  # noqa: T201 - the report
    finally:
        pg.close()
        redis.close()
    passed = sum(results)
    print(  # noqa: T201 - the report
        f"{passed} of {len(results)} drills passed in {time.monotonic() - started:.0f} s"
    )
    return 0 if results and all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
