"""Settings come from the environment, and production settings are safe."""

import os
import subprocess
import sys
from pathlib import Path

from django.conf import settings

BASE_DIR = Path(settings.BASE_DIR)
PRODUCTION = {
    "DJANGO_SECRET_KEY": "Zr6-q1n0wHcd8mYv3t7PkQe2LsXa9JgFuB4oTiN5WbEyRhUjCzVxMl0KpDs7Gf",
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/abusedesk",
    "REDIS_URL": "redis://127.0.0.1:6379/0",
    "DJANGO_ALLOWED_HOSTS": "abuse.example.net",
}


def _manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    clean = {
        k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "ABUSE_"))
    }
    clean.pop("DATABASE_URL", None)
    clean.pop("REDIS_URL", None)
    clean["DJANGO_SETTINGS_MODULE"] = "abusedesk.settings"
    return subprocess.run(
        [sys.executable, str(BASE_DIR / "manage.py"), *args],
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_check_deploy_prints_no_warnings_with_production_variables():
    result = _manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION)
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_production_refuses_to_start_without_a_secret_key():
    env = {k: v for k, v in PRODUCTION.items() if k != "DJANGO_SECRET_KEY"}
    result = _manage("check", env=env)
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY is not set" in result.stderr


def test_empty_environment_in_debug_uses_sqlite_and_the_embedded_redis(tmp_path):
    probe = (
        "from django.conf import settings as s;"
        "print(s.DATABASES['default']['ENGINE']);print(s.RQ_QUEUES['ingest']['URL'])"
    )
    result = _manage(
        "shell", "-c", probe, env={"DJANGO_DEBUG": "1", "ABUSE_VAR_DIR": str(tmp_path)}
    )
    assert result.returncode == 0, result.stderr
    engine, redis_url = result.stdout.split()[-2:]
    assert engine == "django.db.backends.sqlite3"
    assert redis_url.startswith(f"unix://{tmp_path}/redis.sock?db=0")


def test_links_in_mail_follow_the_port_when_no_public_url_is_set():
    env = {k: v for k, v in os.environ.items() if k not in {"ABUSE_PUBLIC_URL", "PORT"}}
    env.update(PORT="8123", DJANGO_DEBUG="1")
    out = subprocess.run(  # noqa: S603
        [
            sys.executable,
            "-c",
            "import abusedesk.settings as s; print(s.ABUSE_PUBLIC_URL)",
        ],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert out == "http://127.0.0.1:8123"


def test_postgresql_connections_take_the_page_cost_and_keep_pgoptions():
    db = settings.DATABASES["default"]
    if db["ENGINE"] != "django.db.backends.postgresql":
        return
    probe = (
        "from django.db import connection as c;k=c.cursor();"
        "k.execute('SHOW random_page_cost');print(k.fetchone()[0]);"
        "k.execute('SHOW client_connection_check_interval');print(k.fetchone()[0])"
    )
    url = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/postgres"
    result = _manage(
        "shell",
        "-c",
        probe,
        env={
            "DJANGO_DEBUG": "1",
            "DATABASE_URL": url,
            "ABUSE_PG_RANDOM_PAGE_COST": "1.5",
            "PGOPTIONS": "-c client_connection_check_interval=100",
        },
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[-2:] == ["1.5", "100ms"]
