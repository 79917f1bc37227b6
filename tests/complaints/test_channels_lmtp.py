"""``manage.py lmtp_server`` as production runs it, on a PostgreSQL of its own that
is really stopped and started again: 451 per recipient while the database is
down, 250 once it is back, on the same connection the MTA kept open."""

import os
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest
from django.conf import settings

from drills.servers import PrivatePostgres
from tests.complaints.lmtp_client import LmtpClient
from tests.complaints.mail import arf_report
from tests.complaints.test_lmtp import spare_port

BASE_DIR = Path(settings.BASE_DIR)
MANAGE = [sys.executable, str(BASE_DIR / "manage.py")]
RECIPIENTS = ["abuse@isp.example", "bounces@isp.example"]
TRY_LATER = "451 4.3.0 Cannot store the message now; try again later"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def private_postgres():
    """A migrated database on a cluster of its own, on one of the spare ports."""
    server = PrivatePostgres()
    server.port = spare_port()
    server.init().start()
    try:
        with psycopg.connect(server.url(), autocommit=True) as admin:
            admin.execute("CREATE DATABASE desk")
        env = _env(server)
        subprocess.run([*MANAGE, "migrate", "-v0"], env=env, check=True, timeout=300)  # noqa: S603
        yield server
    finally:
        server.close()


def _env(server: PrivatePostgres) -> dict[str, str]:
    return dict(
        os.environ,
        DJANGO_SETTINGS_MODULE="abusedesk.settings_test",
        DATABASE_URL=server.url("desk"),
        REDIS_URL=settings.REDIS_URL,
        # Refused connections fail at once; this bounds a hung one.
        PGCONNECT_TIMEOUT="3",
    )


@pytest.fixture
def lmtp_server(private_postgres):
    port = spare_port()
    process = subprocess.Popen(  # noqa: S603 - fixed argv
        [*MANAGE, "lmtp_server", "--listen", f"127.0.0.1:{port}", "--threads", "2"],
        env=_env(private_postgres),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    line = process.stdout.readline().decode()
    assert "listening on" in line, process.stderr.read().decode()
    yield port, process
    process.terminate()
    process.wait(timeout=60)


def _stored_count(server: PrivatePostgres) -> int:
    with psycopg.connect(server.url("desk"), autocommit=True) as reader:
        return reader.execute(
            "SELECT count(*) FROM complaints_inboundmessage"
        ).fetchone()[0]


def test_database_down_answers_451_per_recipient_and_250_once_it_is_back(
    private_postgres, lmtp_server
):
    port, process = lmtp_server
    client = LmtpClient("127.0.0.1", port)
    before = client.send(arf_report(), RECIPIENTS)
    assert [r[:3] for r in before] == ["250", "250"]
    stored = _stored_count(private_postgres)

    private_postgres.stop()
    down = client.send(arf_report(), RECIPIENTS)
    assert down == [TRY_LATER, TRY_LATER]

    private_postgres.start()
    retried = arf_report()
    back = client.send(retried, RECIPIENTS)
    client.close()
    assert [r[:9] for r in back] == ["250 2.0.0", "250 2.0.0"], back
    assert _stored_count(private_postgres) == stored + 1

    process.terminate()
    _, stderr = process.communicate(timeout=60)
    assert "lmtp refused 127.0.0.1: 451 4.3.0" in stderr.decode()


def test_sigterm_stops_the_server_and_its_port_is_free_again(lmtp_server):
    port, process = lmtp_server
    process.terminate()
    assert process.wait(timeout=60) == 0
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            LmtpClient("127.0.0.1", port, timeout=1).close()
        except OSError:
            return
        time.sleep(0.1)
    pytest.fail("the server still answers after SIGTERM")
