"""Submissions read from Postfix logs."""

from datetime import UTC, datetime

from outbound.maillog import parse_maillog

CLASSIC = """\
Nov 30 09:00:01 relay1 postfix/submission/smtpd[811]: 4QAAAA1bcD: client=laptop.example[192.0.2.7], sasl_method=PLAIN, sasl_username=Bob
Nov 30 09:00:01 relay1 postfix/cleanup[812]: 4QAAAA1bcD: message-id=<1@isp.example>
Nov 30 09:00:02 relay1 postfix/qmgr[90]: 4QAAAA1bcD: from=<bob@isp.example>, size=2048, nrcpt=12 (queue active)
Nov 30 09:00:03 relay1 postfix/smtpd[813]: 9F00AB12C: client=unknown[198.51.100.4]
Nov 30 09:00:03 relay1 postfix/qmgr[90]: 9F00AB12C: from=<>, size=900, nrcpt=1 (queue active)
Nov 30 09:00:04 relay1 postfix/qmgr[90]: 77777ABCD: from=<orphan@example>, size=1, nrcpt=1 (queue active)
garbage line
"""
ISO = "2026-11-30T09:00:01.123456+00:00 relay2 postfix/smtpd[1]: 4QBBBB1bcD: client=x[2001:db8::7], sasl_method=LOGIN, sasl_username=carol\n2026-11-30T09:00:02+00:00 relay2 postfix/qmgr[2]: 4QBBBB1bcD: from=<carol@isp.example>, size=10, nrcpt=3 (queue active)\n"


def test_smtpd_and_qmgr_lines_make_one_submission_each():
    got = list(parse_maillog(CLASSIC.splitlines(), year=2026))
    assert [
        (s.relay_host, s.queue_id, s.login, s.client_address, s.recipient_count, s.size)
        for s in got
    ] == [
        ("relay1", "4QAAAA1bcD", "bob", "192.0.2.7", 12, 2048),
        ("relay1", "9F00AB12C", "", "198.51.100.4", 1, 900),
    ]
    assert got[0].at == datetime(2026, 11, 30, 9, 0, 1, tzinfo=UTC)


def test_rfc3339_time_stamps_and_ipv6_clients():
    (got,) = parse_maillog(ISO.splitlines(), year=1999)
    assert (got.login, got.client_address, got.recipient_count) == (
        "carol",
        "2001:db8::7",
        3,
    )
    assert got.at.year == 2026
