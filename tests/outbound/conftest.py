"""A policy server on a free loopback port, run in a thread of the test process,
on the test's Redis database."""

import asyncio
import socket
import threading
from dataclasses import replace

import pytest
import redis
from django.conf import settings

from outbound.policy.decide import Limits
from outbound.policy.server import PolicyConfig, PolicyServer

LIMITS = Limits(
    webmail_cap=30,
    burst_messages=5,
    burst_recipients=100,
    burst_minutes=10,
    login_networks=3,
    hold_suspect_logins=False,
    contact="support on 0800 123",
)


def clear_outbound_keys(url: str) -> None:
    client = redis.Redis.from_url(url)
    keys = list(client.scan_iter("abusedesk:*", count=1000))
    if keys:
        client.delete(*keys)


class Harness:
    """The server and its loop; ``request`` sends one request on a new socket."""

    def __init__(self, config: PolicyConfig):
        self.config = config
        self.loop = asyncio.new_event_loop()
        self.server = PolicyServer(config)
        ready = threading.Event()
        self.thread = threading.Thread(target=self._run, args=(ready,), daemon=True)
        self.thread.start()
        ready.wait(10)

    def _run(self, ready):
        asyncio.set_event_loop(self.loop)
        bound = self.loop.run_until_complete(self.server.start([("127.0.0.1", 0)]))
        self.port = bound[0][1]
        ready.set()
        self.loop.run_forever()

    def stop(self):
        future = asyncio.run_coroutine_threadsafe(self.server.stop(grace=2), self.loop)
        future.result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)

    def connect(self) -> socket.socket:
        sock = socket.create_connection(("127.0.0.1", self.port), timeout=5)
        return sock

    def flush(self):
        asyncio.run_coroutine_threadsafe(
            self.server.recorder.flush(), self.loop
        ).result(5)


def exchange(sock: socket.socket, attrs: dict[str, str]) -> str:
    """Send one request, read one answer; the action text."""
    sock.sendall("".join(f"{k}={v}\n" for k, v in attrs.items()).encode() + b"\n")
    data = b""
    while not data.endswith(b"\n\n"):
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed")
        data += chunk
    assert data.count(b"\n\n") == 1
    return data.decode().removeprefix("action=").rstrip("\n")


def data_request(**attrs) -> dict[str, str]:
    return {
        "request": "smtpd_access_policy",
        "protocol_state": "DATA",
        "protocol_name": "ESMTP",
        "client_address": "192.0.2.7",
        "queue_id": "4ABCDEF123",
        "recipient_count": "1",
        "sender": "bob@isp.example",
        **attrs,
    }


@pytest.fixture
def policy_config():
    return PolicyConfig(
        limits=LIMITS,
        webmail_networks=(),
        fail_action="DUNNO",
        trace_header="X-Abuse-Trace",
        trace_key=b"t" * 32,
        relay_host="relay.test",
        redis_url=settings.REDIS_URL,
    )


@pytest.fixture
def policy_harness(policy_config):
    """Start a server from ``policy_config`` (a factory: call it, optionally with
    changed config fields); everything it started is stopped afterwards."""
    clear_outbound_keys(settings.REDIS_URL)
    started = []

    def start(**changes) -> Harness:
        harness = Harness(replace(policy_config, **changes))
        started.append(harness)
        return harness

    yield start
    for harness in started:
        harness.stop()
    clear_outbound_keys(settings.REDIS_URL)
