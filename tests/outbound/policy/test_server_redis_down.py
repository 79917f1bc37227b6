"""Redis stopped while Postfix sends: the policy server answers the fail action
(DUNNO: mail flows), counts it, keeps the records, and counts again once Redis is
back. A private redis-server stands for the shared one."""

import smtplib

import pytest
import redis

from outbound.policy.counters import COUNTER_PREFIX
from outbound.policy.recorder import STREAM_KEY
from tests.outbound.postfix import PrivatePostfix, PrivateRedis, require_postfix

pytestmark = pytest.mark.slow


def _send(postfix, n: int) -> None:
    with smtplib.SMTP("127.0.0.1", postfix.port, timeout=30) as smtp:
        smtp.ehlo()
        smtp.docmd("XCLIENT", "LOGIN=dave ADDR=192.0.2.7")
        smtp.ehlo()
        smtp.sendmail(
            "dave@isp.example",
            ["friend@example.org"],
            f"Subject: message {n}\r\n\r\nHi\r\n".encode(),
        )


def test_mail_flows_while_redis_is_down_and_counting_resumes(policy_harness):
    require_postfix()
    private = PrivateRedis()
    harness = policy_harness(redis_url=private.url)
    postfix = PrivatePostfix(policy_port=harness.port)
    try:
        _send(postfix, 1)
        # The first record reaches this Redis, which restarts empty below.
        harness.flush()
        private.stop()
        for n in range(2, 5):
            _send(postfix, n)
        assert len(postfix.sink.wait_for(4)) == 4
        assert harness.server.stats.failures == 3
        assert "X-Abuse-Trace" not in postfix.sink.messages[-1].decode()

        private.start()
        client = redis.Redis.from_url(private.url)
        harness.server._redis_down_until = 0  # the one-second breaker, skipped
        _send(postfix, 5)
        assert len(postfix.sink.wait_for(5)) == 5
        assert b"X-Abuse-Trace" in postfix.sink.messages[-1]
        # The restarted Redis is empty (no persistence): the count starts again.
        # The window's totals lead the counter's value: one message, one recipient.
        assert client.get(f"{COUNTER_PREFIX}l:dave").startswith(b"1:1|")
        harness.flush()
        records = b"".join(e[1][b"r"] for e in client.xrange(STREAM_KEY))
        assert records.count(b'"r":"fail_open"') == 3
        assert records.count(b'"r":"pass"') == 1
    finally:
        postfix.stop()
        private.remove()
