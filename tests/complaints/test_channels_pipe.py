"""``manage.py ingest_email`` as an MTA runs it: a subprocess reading stdin.

The subprocess connects to the pytest-django test database, so these tests are
transactional: it must see the rows the test commits, and the test its rows.
"""

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings

from complaints.models import InboundMessage

pytestmark = pytest.mark.django_db(transaction=True)

MANAGE_PY = Path(settings.BASE_DIR) / "manage.py"
MESSAGE = (
    b"From: MAILER-DAEMON@example.net\nTo: news@example.com\n"
    b"Subject: Undelivered Mail Returned to Sender\n"
    b"Message-ID: <pipe-1@example.net>\n\n<nobody@example.net>: user unknown\n"
)


def _database_url(**overrides) -> str:
    db = {**settings.DATABASES["default"], **overrides}
    password = f":{db['PASSWORD']}" if db["PASSWORD"] else ""
    return f"postgres://{db['USER']}{password}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


def ingest(stdin: bytes, **env: str) -> subprocess.CompletedProcess:
    environ = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "abusedesk.settings_test",
        "DATABASE_URL": _database_url(),
        **env,
    }
    return subprocess.run(
        [sys.executable, str(MANAGE_PY), "ingest_email"],
        input=stdin,
        capture_output=True,
        env=environ,
        cwd=MANAGE_PY.parent,
        timeout=60,
    )


def test_message_on_stdin_is_stored_and_exits_0(ingest_queue):
    result = ingest(MESSAGE)
    assert result.returncode == 0, result.stderr
    assert result.stdout == b""
    inbound = InboundMessage.objects.get()
    assert bytes(inbound.raw) == MESSAGE
    assert inbound.channel == InboundMessage.Channel.PIPE
    assert inbound.message_id == "<pipe-1@example.net>"


def test_stored_message_wakes_a_drainer_in_redis(ingest_queue):
    ingest(MESSAGE)
    assert InboundMessage.objects.get().state == InboundMessage.State.PENDING
    assert [job.func_name for job in ingest_queue.jobs] == [
        "complaints.jobs.inbound_drain_job"
    ]


def test_same_message_twice_stores_one_row(ingest_queue):
    assert ingest(MESSAGE).returncode == 0
    assert ingest(MESSAGE).returncode == 0
    assert InboundMessage.objects.count() == 1


def test_garbage_bytes_are_stored(ingest_queue):
    garbage = bytes(range(256)) * 4
    result = ingest(garbage)
    assert result.returncode == 0, result.stderr
    assert bytes(InboundMessage.objects.get().raw) == garbage


def test_empty_input_exits_65_and_stores_nothing():
    result = ingest(b"")
    assert result.returncode == os.EX_DATAERR
    assert b"The message is empty." in result.stderr
    assert not InboundMessage.objects.exists()


def test_message_over_the_limit_exits_65_and_stores_nothing():
    result = ingest(MESSAGE, ABUSE_INGEST_MAX_BYTES=str(len(MESSAGE) - 1))
    assert result.returncode == os.EX_DATAERR
    assert b"the limit is" in result.stderr
    assert not InboundMessage.objects.exists()


def test_message_at_the_limit_is_stored(ingest_queue):
    result = ingest(MESSAGE, ABUSE_INGEST_MAX_BYTES=str(len(MESSAGE)))
    assert result.returncode == 0, result.stderr
    assert InboundMessage.objects.count() == 1


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_database_down_exits_75_quickly():
    started = time.monotonic()
    result = ingest(MESSAGE, DATABASE_URL=_database_url(PORT=_closed_port()))
    assert result.returncode == os.EX_TEMPFAIL, result.stderr
    assert b"try again" in result.stderr
    assert time.monotonic() - started < 15
    assert not InboundMessage.objects.exists()


def test_nul_in_the_message_id_is_stored_and_exits_0(ingest_queue):
    result = ingest(MESSAGE.replace(b"<pipe-1@", b"<pipe\x00-1@"))
    assert result.returncode == 0, result.stderr
    assert InboundMessage.objects.get().message_id == "<pipe-1@example.net>"


def test_oversize_error_states_the_real_size():
    big = MESSAGE + b"x" * 5000
    result = ingest(big, ABUSE_INGEST_MAX_BYTES="100")
    assert result.returncode == os.EX_DATAERR
    assert f"The message is {len(big)} bytes; the limit is 100 bytes.".encode() in (
        result.stderr
    )


def test_redis_down_still_exits_0_with_no_output_and_logs_to_the_file(tmp_path):
    log = tmp_path / "pipe.log"
    result = ingest(
        MESSAGE,
        REDIS_URL=f"redis://127.0.0.1:{_closed_port()}/0",
        ABUSE_PIPE_LOG_FILE=str(log),
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == b""
    assert result.stderr == b""
    assert InboundMessage.objects.get().state == InboundMessage.State.PENDING
    assert "could not wake a worker" in log.read_text()


def test_redis_hung_still_exits_0_quickly_with_no_output():
    from drills.servers import PrivateRedis

    server = PrivateRedis().start()
    server.freeze()
    try:
        started = time.monotonic()
        result = ingest(MESSAGE, REDIS_URL=server.url)
        elapsed = time.monotonic() - started
    finally:
        server.close()
    assert result.returncode == 0, result.stderr
    assert result.stderr == b""
    assert elapsed < 40, "a hung Redis must not hold the pipe for long"
    assert InboundMessage.objects.get().state == InboundMessage.State.PENDING
