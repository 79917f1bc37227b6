"""RFC 3834 automatic replies and the loop-safety flag."""

import pytest

from complaints.ingest import autoreply, parse


def _msg(headers: str, body: str = "Hello.\n"):
    return parse.parse_bytes(f"{headers.strip()}\n\n{body}".encode())


@pytest.mark.parametrize(
    "headers",
    [
        "Subject: Re: offers\nAuto-Submitted: auto-replied",
        "Subject: Re: offers\nX-Autoreply: yes",
        "Subject: Re: offers\nX-Autorespond: vacation",
        "Subject: Re: offers\nPrecedence: auto_reply",
        "Subject: Out of Office: offers",
        "Subject: Automatic reply: offers",
        "Subject: Abwesenheitsnotiz: offers",
        "Subject: =?utf-8?q?R=C3=A9ponse_automatique?=",
        "Subject: Auto: offers",
        "Subject: [Automatyczna =?iso-8859-2?Q?odpowied=BC?=] offers",
    ],
)
def test_automatic_reply_signals_are_recognised(headers):
    msg = _msg(headers)
    assert autoreply.is_auto_reply(msg, "I am away.")


def test_a_responders_thanks_under_a_bulk_precedence_is_an_auto_reply():
    msg = _msg("Subject: Thank you for your e-mail\nPrecedence: bulk")
    text = "Thank you for your e-mail. I will endeavour to reply as soon as I can."
    assert autoreply.is_auto_reply(msg, text)
    # A person's own thanks carries no bulk precedence.
    person = _msg("Subject: Thank you for your e-mail")
    assert not autoreply.is_auto_reply(person, text)


def test_exchange_oof_with_rewritten_subject_is_recognised_by_its_body():
    msg = _msg("Subject: offers\nX-Auto-Response-Suppress: All")
    assert autoreply.is_auto_reply(msg, "I am out of the office until Monday.")


@pytest.mark.parametrize(
    "headers",
    [
        "Subject: Fwd: Vacation deals for you",
        "Subject: Question about my invoice",
        "Subject: offers\nAuto-Submitted: no",
    ],
)
def test_ordinary_mail_is_not_an_auto_reply(headers):
    assert not autoreply.is_auto_reply(_msg(headers), "Hello.")


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ("Auto-Submitted: auto-generated", True),
        ("Auto-Submitted: auto-replied; owner-email=x@example.org", True),
        ("Auto-Submitted: no", False),
        (f"{autoreply.OWN_MARKER_HEADER}: 1", True),
        ("Subject: plain", False),
    ],
)
def test_auto_submitted_flag_follows_rfc3834_and_our_marker(headers, expected):
    assert autoreply.is_auto_submitted(_msg(headers)) is expected
