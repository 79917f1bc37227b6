"""The policy server over a real socket: many requests per connection, bad
clients, shutdown. Counters and the status cache are in the real Redis."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis
from django.conf import settings

from abusedesk.tracetoken import verify
from accounts.status_cache import LOGIN_KEY, STATUS_KEY
from outbound.policy.decide import Action, Rule
from outbound.policy.protocol import parse_networks
from outbound.policy.recorder import STREAM_KEY
from outbound.policy.server import record_json
from tests.outbound.conftest import clear_outbound_keys, data_request, exchange


def _cache(login: str, subscriber_id: int, status: str) -> None:
    client = redis.Redis.from_url(settings.REDIS_URL)
    client.hset(LOGIN_KEY, login, str(subscriber_id))
    client.hset(STATUS_KEY, str(subscriber_id), status)


def test_many_requests_on_one_connection_each_get_one_answer(policy_harness):
    harness = policy_harness()
    _cache("bob", 7, "active")
    with harness.connect() as sock:
        for n in range(3):
            answer = exchange(
                sock, data_request(sasl_username="bob", queue_id=f"4AB{n}CDE99")
            )
            header, _, token = answer.removeprefix("PREPEND ").partition(": ")
            assert header == "X-Abuse-Trace"
            payload = verify(token, key=b"t" * 32)
            assert (payload.subscriber_id, payload.login, payload.queue_id) == (
                7,
                "bob",
                f"4AB{n}CDE99",
            )
            assert payload.relay_host == "relay.test"


def test_suspended_login_is_refused_with_the_reason(policy_harness):
    harness = policy_harness()
    _cache("mallory", 8, "suspended")
    with harness.connect() as sock:
        answer = exchange(sock, data_request(sasl_username="Mallory"))
    assert answer.startswith("REJECT 5.7.1 Sending from this account is suspended")


def test_webmail_over_the_cap_is_refused(policy_harness):
    harness = policy_harness(webmail_networks=parse_networks(["192.0.2.0/28"]))
    with harness.connect() as sock:
        ok = exchange(sock, data_request(sasl_username="w", recipient_count="30"))
        over = exchange(sock, data_request(sasl_username="w", recipient_count="31"))
    assert ok.startswith("PREPEND ")
    assert over.startswith("REJECT 5.5.3 ")


def test_a_burst_is_held_once_over_the_limit(policy_harness):
    harness = policy_harness()
    with harness.connect() as sock:
        answers = [
            exchange(sock, data_request(sasl_username="burst")) for _ in range(7)
        ]
    assert [a.split()[0] for a in answers] == ["PREPEND"] * 5 + ["HOLD"] * 2
    assert "6 messages" in answers[5]


def test_counters_are_shared_by_two_servers(policy_harness):
    first, second = policy_harness(), policy_harness()
    answers = []
    for n in range(6):
        with (first if n % 2 else second).connect() as sock:
            answers.append(exchange(sock, data_request(sasl_username="shared")))
    assert answers[-1].startswith("HOLD")


def test_requests_before_data_and_from_others_than_postfix_pass_unrecorded(
    policy_harness,
):
    harness = policy_harness()
    with harness.connect() as sock:
        assert exchange(sock, {"protocol_state": "DATA"}) == "DUNNO"
        rcpt = exchange(sock, data_request(protocol_state="RCPT"))
        assert rcpt == "DUNNO"
        assert exchange(sock, {"junk line without equals": ""}) == "DUNNO"
    harness.flush()
    assert harness.server.stats.decisions == 0


def test_missing_attributes_and_junk_lines_still_get_an_answer(policy_harness):
    harness = policy_harness()
    with harness.connect() as sock:
        sock.sendall(
            b"request=smtpd_access_policy\nprotocol_state=DATA\njunk\n\x00\xff\n\n"
        )
        assert sock.recv(4096).startswith(b"action=PREPEND X-Abuse-Trace: ")


def test_a_1_mb_line_closes_that_connection_only(policy_harness):
    harness = policy_harness()
    with harness.connect() as good, harness.connect() as bad:
        assert exchange(good, data_request()).startswith("PREPEND")
        try:
            bad.sendall(b"request=" + b"x" * (1024 * 1024))
            closed = bad.recv(100) == b""
        except ConnectionError:
            closed = True
        assert closed
        assert exchange(good, data_request()).startswith("PREPEND")


def test_a_client_that_disconnects_mid_request_harms_nobody(policy_harness):
    harness = policy_harness()
    for _ in range(20):
        sock = harness.connect()
        sock.sendall(b"request=smtpd_access_policy\nprotocol_state=DA")
        sock.close()
    with harness.connect() as sock:
        assert exchange(sock, data_request()).startswith("PREPEND")


def test_500_idle_connections_do_not_stop_the_others(policy_harness):
    harness = policy_harness()
    idle = [harness.connect() for _ in range(500)]
    try:
        started = time.monotonic()
        with harness.connect() as sock:
            for n in range(10):
                answer = exchange(sock, data_request(sasl_username=f"user{n}"))
                assert answer.startswith("PREPEND")
        assert time.monotonic() - started < 5
    finally:
        for sock in idle:
            sock.close()


def test_idle_connections_are_closed_after_the_idle_timeout(policy_harness):
    harness = policy_harness(idle_timeout=0.4)
    with harness.connect() as sock:
        sock.settimeout(5)
        assert sock.recv(10) == b""


def test_every_decision_reaches_the_stream(policy_harness):
    harness = policy_harness()
    with harness.connect() as sock:
        for _ in range(3):
            exchange(sock, data_request(sasl_username="rec"))
    harness.flush()
    client = redis.Redis.from_url(settings.REDIS_URL)
    entries = client.xrange(STREAM_KEY)
    assert sum(e[1][b"r"].count(b'"l":"rec"') for e in entries) == 3


def test_sigterm_finishes_cleanly_and_writes_the_records(tmp_path):
    """The command itself: IPv4 and IPv6 listeners, SIGTERM, exit 0."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "abusedesk.settings_test"}
    server = subprocess.Popen(
        [
            sys.executable,
            str(Path(settings.BASE_DIR) / "manage.py"),
            "policy_server",
            "--listen",
            "127.0.0.1:0",
            "--listen",
            "[::1]:0",
            "--no-cache-load",
            "--no-drain-jobs",
            "--relay-host",
            "sigterm.test",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    try:
        ports = [int(server.stdout.readline().split()[-1]) for _ in range(2)]
        for family, host, port in (
            (socket.AF_INET, "127.0.0.1", ports[0]),
            (socket.AF_INET6, "::1", ports[1]),
        ):
            with socket.socket(family) as sock:
                sock.settimeout(5)
                sock.connect((host, port))
                answer = exchange(
                    sock, data_request(sasl_username="", client_address="unknown")
                )
                assert answer.startswith("PREPEND")
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=20) == 0
    finally:
        if server.poll() is None:
            server.kill()
    client = redis.Redis.from_url(settings.REDIS_URL)
    records = b"".join(e[1][b"r"] for e in client.xrange(STREAM_KEY))
    assert records.count(b'"h":"sigterm.test"') == 2


@pytest.mark.django_db(transaction=True)
def test_several_processes_share_one_port_and_stop_cleanly():
    """--processes 2: the kernel spreads connections over both; SIGTERM stops
    both, each writing its records, and the command exits 0."""
    clear_outbound_keys(settings.REDIS_URL)
    # The processes look the login up in this test's database (a status the
    # cache does not hold), not in whatever DATABASE_URL names outside the test.
    db = settings.DATABASES["default"]
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "abusedesk.settings_test",
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}"
        f":{db['PORT'] or 5432}/{db['NAME']}",
    }
    server = subprocess.Popen(
        [
            sys.executable,
            str(Path(settings.BASE_DIR) / "manage.py"),
            "policy_server",
            "--listen",
            "127.0.0.1:0",
            "--processes",
            "2",
            "--no-cache-load",
            "--no-drain-jobs",
            "--relay-host",
            "processes.test",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        # Its own process group: a failing test stops the server's children too.
        start_new_session=True,
    )
    try:
        port = int(server.stdout.readline().split()[-1])
        sockets = []
        deadline = time.monotonic() + 20
        for n in range(20):
            while True:
                try:
                    sockets.append(socket.create_connection(("127.0.0.1", port), 5))
                    break
                except ConnectionRefusedError:
                    assert time.monotonic() < deadline
                    time.sleep(0.1)
            answer = exchange(sockets[-1], data_request(queue_id=f"4PR{n:02d}CDE9"))
            assert answer.startswith("PREPEND")
        for sock in sockets:
            sock.close()
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=20) == 0
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
    client = redis.Redis.from_url(settings.REDIS_URL)
    records = b"".join(e[1][b"r"] for e in client.xrange(STREAM_KEY))
    assert records.count(b'"h":"processes.test"') == 20


def test_records_reaching_the_stream_enqueue_one_drain_job(policy_harness):
    import django_rq

    from outbound.policy.config import drain_trigger

    queue = django_rq.get_queue("default")
    queue.empty()
    harness = policy_harness(on_flushed=drain_trigger)
    with harness.connect() as sock:
        for _ in range(3):
            exchange(sock, data_request(sasl_username="drained"))
    harness.flush()
    deadline = time.monotonic() + 5
    while not queue.count and time.monotonic() < deadline:
        time.sleep(0.05)
    assert [job.func_name for job in queue.jobs] == [
        "outbound.jobs.submissions_drain_job"
    ]
    queue.empty()


def test_bdat_clients_are_decided_like_data(policy_harness):
    harness = policy_harness()
    _cache("bdat", 9, "suspended")
    with harness.connect() as sock:
        answer = exchange(
            sock, data_request(sasl_username="bdat", protocol_state="BDAT")
        )
    assert answer.startswith("REJECT 5.7.1")


def test_a_sender_without_login_is_known_by_client_address(policy_harness):
    asked = []

    def by_address(address):
        asked.append(address)
        return 11, "terminated"

    harness = policy_harness(address_lookup=by_address)
    with harness.connect() as sock:
        for _ in range(2):
            answer = exchange(sock, data_request(client_address="198.51.100.9"))
            assert answer.startswith("REJECT 5.7.1 This account is closed")
    assert asked == ["198.51.100.9"]  # the second message came from memory


def test_a_login_the_cache_lacks_is_looked_up_once(policy_harness):
    asked = []

    def by_login(login):
        asked.append(login)
        return None, None

    harness = policy_harness(login_lookup=by_login)
    with harness.connect() as sock:
        for _ in range(3):
            assert exchange(sock, data_request(sasl_username="stranger")).startswith(
                "PREPEND"
            )
    assert asked == ["stranger"]


def test_a_database_failure_behind_a_miss_gets_the_fail_action(policy_harness):
    def broken(login):
        raise OSError("connection refused")

    harness = policy_harness(login_lookup=broken, fail_action="DEFER_IF_PERMIT")
    with harness.connect() as sock:
        assert exchange(sock, data_request(sasl_username="x")) == "DEFER_IF_PERMIT"
    assert harness.server.stats.failures == 1


@pytest.mark.parametrize(
    ("attrs", "subscriber_id", "is_suspect"),
    [
        (
            {
                "queue_id": "4ABC",
                "client_address": "192.0.2.7",
                "sender": "bob@isp.example",
                "recipient_count": "3",
                "size": "1200",
            },
            41,
            False,
        ),
        ({}, None, True),
        (
            {
                "queue_id": "Q" * 40,
                "sender": 'a"\\b\té@ü.example' + "x" * 300,
                "recipient_count": "junk",
                "size": "-5",
            },
            7,
            False,
        ),
    ],
)
def test_a_record_is_the_json_of_its_fields(attrs, subscriber_id, is_suspect):
    """What the drain reads, in the compact form json.dumps writes."""
    text = record_json(
        attrs,
        "relay.test",
        "bob",
        1_780_000_000.123456,
        subscriber_id,
        (Action.HOLD, Rule.BURST, "held: " + "r" * 300),
        "tok",
        is_suspect,
    )
    expected = {
        "h": "relay.test",
        "q": attrs.get("queue_id", "")[:32],
        "t": 1_780_000_000.123456,
        "l": "bob",
        "s": subscriber_id,
        "c": attrs.get("client_address", ""),
        "f": attrs.get("sender", "")[:254],
        "n": 3 if attrs.get("recipient_count") == "3" else 0,
        "z": 1200 if attrs.get("size") == "1200" else 0,
        "a": "hold",
        "r": "burst",
        "x": ("held: " + "r" * 300)[:255],
        "k": "tok",
        "p": is_suspect,
    }
    assert text == json.dumps(expected, separators=(",", ":"))
