"""complaints.ingest.received: one Received line read into a Hop."""

import pytest

from complaints.ingest.received import read_hop


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
