"""``manage.py lmtp_server`` as production runs it, on a PostgreSQL of its own that
is really stopped and started again: 451 per recipient while the database is
down, 250 once it is back, on the same connection the MTA kept open; and a real
Postfix delivering to it, which keeps the message queued while the desk answers
451 and hands it over once the database is back."""

import os
import smtplib
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
from tests.outbound.postfix import PrivatePostfix, require_postfix

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


def _wait_for_log(postfix: PrivatePostfix, text: str, timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        log = postfix.log()
        if text in log:
            return log
        time.sleep(0.2)
    pytest.fail(f"Postfix never logged {text!r}:\n{postfix.log()}")


def test_postfix_keeps_the_message_while_the_database_is_down_and_delivers_it_after(
    private_postgres, lmtp_server
):
    require_postfix()
    port, _ = lmtp_server
    postfix = PrivatePostfix(lmtp_port=port)
    try:
        stored = _stored_count(private_postgres)
        private_postgres.stop()
        try:
            with smtplib.SMTP("127.0.0.1", postfix.port, timeout=30) as smtp:
                smtp.sendmail("fbl@mailbox-provider.example", RECIPIENTS, arf_report())
            log = _wait_for_log(postfix, "status=deferred")
            assert "said: 451 4.3.0 Cannot store the message now" in log
            queued = postfix.queue()
            assert len(queued) == 1
            assert {r["address"] for r in queued[0]["recipients"]} == set(RECIPIENTS)
        finally:
            private_postgres.start()

        # Postfix retries on its own (queue_run_delay and backoff of 1-2 s); the
        # 250 it logs comes after the row is committed, so the row is there.
        log = _wait_for_log(postfix, "status=sent")
        assert log.count("status=sent (250 2.0.0 Stored as #") == len(RECIPIENTS)
        assert _stored_count(private_postgres) == stored + 1
        deadline = time.monotonic() + 30
        while postfix.queue() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert postfix.queue() == []
    finally:
        postfix.stop()
