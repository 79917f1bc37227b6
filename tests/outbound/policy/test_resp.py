"""The hot path's own Redis protocol: packing and reply parsing (pure), and one
real round trip."""

import asyncio
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.conf import settings

from outbound.policy.resp import RespClient, RespError, pack, parse_reply


def test_commands_are_packed_as_arrays_of_bulk_strings():
    assert (
        pack("GET", "k", 5, b"\x00")
        == b"*4\r\n$3\r\nGET\r\n$1\r\nk\r\n$1\r\n5\r\n$1\r\n\x00\r\n"
    )


@pytest.mark.parametrize(
    ("raw", "reply"),
    [
        (b"+OK\r\n", b"OK"),
        (b":42\r\n", 42),
        (b"$3\r\nabc\r\n", b"abc"),
        (b"$0\r\n\r\n", b""),
        (b"$-1\r\n", None),
    ],
)
def test_replies_parse(raw, reply):
    assert parse_reply(bytearray(raw)) == (reply, len(raw))


def test_incomplete_replies_wait_and_errors_are_errors():
    assert parse_reply(bytearray(b"$5\r\nab")) is None
    assert parse_reply(bytearray(b"+O")) is None
    error, _end = parse_reply(bytearray(b"-NOSCRIPT no\r\n"))
    assert isinstance(error, RespError) and str(error) == "NOSCRIPT no"


def test_pipelined_calls_get_their_own_replies():
    async def run():
        client = RespClient(settings.REDIS_URL)
        try:
            return await asyncio.gather(
                client.call("ECHO", "one"),
                client.call("ECHO", "two"),
                client.call("PING"),
            )
        finally:
            client.close()

    # In a thread of its own: other tests (Playwright) may leave a loop running here.
    with ThreadPoolExecutor(1) as pool:
        replies = pool.submit(asyncio.run, run()).result(10)
    assert replies == [b"one", b"two", b"PONG"]
