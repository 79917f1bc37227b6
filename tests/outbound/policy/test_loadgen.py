"""The bench's load generator against a stand-in server on loopback: it
measures the answers it gets, and refuses ones that are not policy answers."""

import contextlib
import socket
import threading

import pytest

from outbound.policy.loadgen import drive


def _answering(reply: bytes):
    """A listening socket whose connections answer every request with
    ``reply``; the thread stops when the socket closes."""
    listener = socket.create_server(("127.0.0.1", 0))

    def serve(conn):
        buffer = b""
        with conn, contextlib.suppress(OSError):  # the client hangs up
            while data := conn.recv(65536):
                buffer += data
                while b"\n\n" in buffer:
                    _request, buffer = buffer.split(b"\n\n", 1)
                    conn.sendall(reply)

    def accept():
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=serve, args=(conn,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    return listener


def _drive(port, **options):
    return drive(
        host="127.0.0.1",
        port=port,
        connections=3,
        warmup=0.05,
        seconds=0.3,
        accounts=10,
        seed=1,
        **options,
    )


@pytest.mark.parametrize("rate", [0, 200])
def test_valid_answers_are_measured(rate):
    with _answering(b"action=PREPEND X-Abuse-Trace: abc\n\n") as listener:
        latencies = _drive(listener.getsockname()[1], rate=rate)
    assert len(latencies) > 10
    assert all(0 < latency < 5 for latency in latencies)


@pytest.mark.parametrize(
    "reply",
    [b"action=MAYBE\n\n", b"hello\n\n", b"action=DUNNO\n\naction=DUNNO\n\n"],
)
def test_an_answer_that_is_not_one_policy_action_fails_the_run(reply):
    with _answering(reply) as listener, pytest.raises(ValueError):
        _drive(listener.getsockname()[1])
