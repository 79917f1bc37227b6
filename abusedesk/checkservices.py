"""Fails fast, in one line, when PostgreSQL or Redis is not reachable for the tests.

Run as ``python -m abusedesk.checkservices`` (``make test`` does). Reads the same
DATABASE_URL and REDIS_URL as the settings.
"""

import os
import sys

import environ
import psycopg
import psycopg.sql
import redis

PG_START = "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start"
REDIS_START = (
    'redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" '
    "--appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log"
)


def check_postgres(url: str) -> str | None:
    config = environ.Env.db_url_config(url)
    try:
        psycopg.connect(
            host=config.get("HOST") or "127.0.0.1",
            port=config.get("PORT") or 5432,
            user=config.get("USER") or "postgres",
            password=config.get("PASSWORD") or None,
            dbname="postgres",
            connect_timeout=3,
        ).close()
    except psycopg.OperationalError:
        return f"PostgreSQL is not reachable at {config.get('HOST')}:{config.get('PORT')}; start it with: {PG_START}"
    return None


def check_redis(url: str) -> str | None:
    try:
        redis.Redis.from_url(url, socket_connect_timeout=3).ping()
    except redis.exceptions.ConnectionError:
        return f"Redis is not reachable at {url}; start it with: {REDIS_START}"
    return None


def create_database(url: str) -> None:
    """Create the PostgreSQL database named in ``url`` when it does not exist."""
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
        exists = conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [config["NAME"]]
        ).fetchone()
        if not exists:
            conn.execute(
                psycopg.sql.SQL("CREATE DATABASE {}").format(
                    psycopg.sql.Identifier(config["NAME"])
                )
            )


def main() -> int:
    if "--create-database" in sys.argv:
        create_database(os.environ["DATABASE_URL"])
        return 0
    problems = [
        check_postgres(
            os.environ.get(
                "DATABASE_URL", "postgres://postgres@127.0.0.1:5432/abusedesk"
            )
        ),
        check_redis(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/13")),
    ]
    problems = [p for p in problems if p]
    for problem in problems:
        sys.stderr.write(problem + "\n")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
