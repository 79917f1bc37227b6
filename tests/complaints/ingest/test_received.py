"""complaints.ingest.received: one Received line read into a Hop."""

import re

import pytest

from complaints.ingest import received
from complaints.ingest.received import read_hop

from .conftest import same_matches


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (
            "from pc (dyn-7.pool.isp.example [198.51.100.7]) (Authenticated sender: bob)"
            " by relay1.isp.example (Postfix) with ESMTPSA id 4ABC123 for <x@y.example>;"
            " Fri, 4 Sep 2026 13:53:02 +0200",
            {
                "from_ip": "198.51.100.7",
                "from_rdns": "dyn-7.pool.isp.example",
                "by_host": "relay1.isp.example",
                "login": "bob",
                "queue_id": "4ABC123",
                "date": "Fri, 4 Sep 2026 13:53:02 +0200",
            },
        ),
        (
            "from [IPv6:2001:db8:42::17] (unknown [IPv6:2001:db8:42::17]) by mx.example.org"
            " with ESMTP id Q1; Fri, 4 Sep 2026 11:00:00 +0000",
            {"from_ip": "2001:db8:42::17", "by_host": "mx.example.org", "login": None},
        ),
        (
            "from EUR05.outbound.protection.outlook.com (2a01:111:f400:7e1b::205) by"
            " mx.example.org (10.1.2.3) with Microsoft SMTP Server id 15.20.1; Fri, 4 Sep 2026",
            {"from_ip": "2a01:111:f400:7e1b::205", "by_host": "mx.example.org"},
        ),
        (
            "from [81.200.25.129] (port=62969 helo=[81.200.25.129]) by smtp2.out.isp.example"
            " with esmtpsa (Exim 4.97.1) id 16P6jD-7d1Ruk-0k; Fri, 04 Sep 2026 20:04:49 +0000",
            {
                "from_ip": "81.200.25.129",
                "by_host": "smtp2.out.isp.example",
                "queue_id": "16P6jD-7d1Ruk-0k",
            },
        ),
    ],
)
def test_received_lines_of_common_mtas_are_read(header, expected):
    hop = read_hop(header)
    assert {name: getattr(hop, name) for name in expected} == expected


# The trace-line patterns as they were written before they were made to open
# with a character: the rewrites must find exactly what these find.
_LEADING_LOOK_BEHIND = {
    "_IPV4_RE": (re.compile(r"(?<![\d.])(\d{1,3}(?:\.\d{1,3}){3})(?![\d.])"), 0),
    "QUEUE_ID_RE": (re.compile(r"\bid\s+<?([A-Za-z0-9][\w.\-]{4,80})>?", re.I), 0),
    "_WITH_RE": (re.compile(r"\bwith\s+([A-Za-z0-9][\w/.\-]*)", re.I), 0),
    # This one's matches began at the space or ")" before "by".
    "_BY_RE": (re.compile(r"(?:^|[\s)])by\s+([^\s;()\[\]]+)", re.I), 1),
}


@pytest.mark.parametrize("name", sorted(_LEADING_LOOK_BEHIND))
def test_each_trace_pattern_finds_what_its_look_behind_form_found(name, probe_texts):
    old, group = _LEADING_LOOK_BEHIND[name]
    new = getattr(received, name)
    for text in probe_texts("0129.. :;()[]<>byBYidIDwithWITHİıK\t\n-_/x"):
        assert same_matches(old, new, text, group=group), repr(text)


HEADERS = [
    "from a.example (a.example [198.51.100.7])\n\tby mx.example.org with ESMTP id Q1;"
    " Fri, 4 Sep 2026",
    "from a (b [203.0.113.9])by mx (c [192.0.2.1]) with SMTP id Q2",
    "from [IPv6:2001:db8::1] (x [IPv6:2001:db8::1] 198.51.100.300 10.0.0.1)\r\n by y",
    "from z (2a01:111:f400::5) by w (10.1.2.3)",
    "from q ([198.51.100.8]) (helo=[198.51.100.9]); Fri, 4 Sep 2026",
    "  from   spaced  \n  ( s [ 198.51.100.10 ] [198.51.100.11]  ) \n by  t ;",
    "by only.example with LMTP",
    "from 01.2.3.4 ([1.2.3.4]) by r",
]


@pytest.mark.parametrize("header", HEADERS)
def test_a_hop_is_read_with_the_addresses_client_ips_finds(header):
    hop, ips = received.read_hop_and_ips(header)
    assert hop == read_hop(header)
    assert ips == received.client_ips(header)
    assert hop.from_ip == (ips[0] if ips else None)


def test_an_ascii_line_is_read_the_same_with_ascii_classes(probe_texts, monkeypatch):
    alphabet = "from by with id [] () ; : . 0123456789 IPv6:ab \t\x1c\x1fA-Z"
    lines = [
        *probe_texts(alphabet, count=5000),
        "from mx.example.org (mail.example.org [192.0.2.7]) by relay.example.net"
        " (Postfix) with ESMTPS id 4AbCdEf123 for <a@b.example>; Mon, 4 Mar 2024",
        "from [IPv6:2001:db8::1] (helo)\x1c(client.example [198.51.100.9])"
        " BY MX.EXAMPLE WITH esmtp ID QQ1234567",
    ]
    fast = [received.read_hop_and_ips(line) for line in lines]
    monkeypatch.setattr(received, "_ASCII_PATTERNS", received._PATTERNS)
    assert fast == [received.read_hop_and_ips(line) for line in lines]
    assert any(hop.from_ip for hop, _ips in fast)
