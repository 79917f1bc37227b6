"""The benchmark's LMTP clients: the wire form of a message, and delivery to the
desk's LMTP server over real sockets, one message per transaction."""

import pytest

from complaints.bench import lmtp_load
from complaints.models import InboundMessage
from tests.complaints.mail import arf_report
from tests.complaints.test_lmtp import RunningServer


@pytest.mark.parametrize(
    ("raw", "wire"),
    [
        (b"a\r\nb\r\n", b"a\r\nb\r\n.\r\n"),
        (b"a\nb", b"a\r\nb\r\n.\r\n"),
        (b".a\r\n..b\r\nc.\r\n", b"..a\r\n...b\r\nc.\r\n.\r\n"),
        (b"a\r\n\r\n", b"a\r\n\r\n.\r\n"),
        (b"", b"\r\n.\r\n"),
        (b"a\rb\n", b"a\rb\r\n.\r\n"),
    ],
    ids=["crlf", "bare lf", "leading dots", "blank last line", "empty", "lone cr"],
)
def test_data_is_crlf_lines_with_leading_dots_doubled_and_the_end_dot(raw, wire):
    assert lmtp_load._data(raw) == wire


@pytest.mark.django_db(transaction=True)
def test_deliver_stores_every_message_over_several_connections(ingest_queue):
    server = RunningServer().start()
    raws = [arf_report() for _ in range(20)]
    try:
        state = lmtp_load.deliver("127.0.0.1", server.port, raws, connections=3)
        assert state.done.wait(60), "the delivery did not finish"
    finally:
        server.close()
    assert state.error is None
    assert (state.delivered, state.retried, state.refused) == (20, 0, [])
    stored = {
        bytes(raw) for raw in InboundMessage.objects.values_list("raw", flat=True)
    }
    assert stored == set(raws)
