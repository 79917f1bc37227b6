"""The policy protocol as bytes: splitting, parsing, answering."""

from outbound.policy import protocol


def test_requests_are_split_on_the_empty_line_and_the_rest_kept():
    buffer = bytearray(b"a=1\nb=2\n\nc=3\n\nd=")
    assert protocol.split_requests(buffer) == [b"a=1\nb=2", b"c=3"]
    assert buffer == bytearray(b"d=")


def test_crlf_requests_are_split_too():
    buffer = bytearray(b"a=1\r\nb=2\r\n\r\n")
    assert protocol.split_requests(buffer) == [b"a=1\r\nb=2"]
    assert protocol.parse_request(b"a=1\r\nb=2") == {"a": "1", "b": "2"}


def test_junk_lines_are_ignored_and_the_first_value_wins():
    attrs = protocol.parse_request(b"junk\n=x\nname=a=b\nname=second\nQueue_ID=ABC")
    assert attrs == {"name": "a=b", "queue_id": "ABC"}


def test_reply_is_one_action_line_and_an_empty_line():
    assert protocol.reply("DUNNO") == b"action=DUNNO\n\n"


def test_reply_text_cannot_break_the_protocol():
    assert (
        protocol.reply("REJECT one\ntwo\n\nthree") == b"action=REJECT one two three\n\n"
    )


def test_client_networks_are_slash_24_and_slash_48():
    assert protocol.client_network("192.0.2.77") == "192.0.2.0/24"
    assert protocol.client_network("2001:db8:1:2::5") == "2001:db8:1::/48"
    assert protocol.client_network("::ffff:192.0.2.9") == "192.0.2.0/24"
    assert protocol.client_network("unknown") == ""


def test_webmail_clients_are_addresses_or_networks():
    networks = protocol.parse_networks(
        ["192.0.2.10", "198.51.100.0/24", "2001:db8::/32"]
    )
    assert protocol.is_in_networks("192.0.2.10", networks)
    assert protocol.is_in_networks("198.51.100.200", networks)
    assert protocol.is_in_networks("2001:db8::1", networks)
    assert not protocol.is_in_networks("192.0.2.11", networks)
    assert not protocol.is_in_networks("junk", networks)


def test_counts_that_are_not_numbers_are_zero():
    assert protocol.as_count("12") == 12
    assert protocol.as_count("-3") == 0
    assert protocol.as_count("x") == 0
    assert protocol.as_count(None) == 0
