"""The outbound rules, as a table."""

import pytest

from outbound.policy.decide import Action, Facts, Limits, Rule, decide

LIMITS = Limits(
    webmail_cap=30,
    burst_messages=200,
    burst_recipients=1000,
    burst_minutes=10,
    login_networks=4,
    hold_suspect_logins=False,
    contact="support on 0800 123",
)


def facts(**changes) -> Facts:
    base = dict(
        status="active",
        is_webmail=False,
        recipient_count=1,
        window_messages=1,
        window_recipients=1,
        login_networks=1,
    )
    return Facts(**{**base, **changes})


@pytest.mark.parametrize(
    ("given", "action", "rule"),
    [
        ({}, Action.DUNNO, Rule.PASS),
        ({"status": None}, Action.DUNNO, Rule.PASS),
        ({"status": "suspended"}, Action.REJECT, Rule.STATUS),
        ({"status": "terminated"}, Action.REJECT, Rule.STATUS),
        ({"status": "restricted"}, Action.REJECT, Rule.STATUS),
        ({"is_webmail": True, "recipient_count": 30}, Action.DUNNO, Rule.PASS),
        ({"is_webmail": True, "recipient_count": 31}, Action.REJECT, Rule.WEBMAIL_CAP),
        ({"recipient_count": 31}, Action.DUNNO, Rule.PASS),
        ({"window_messages": 200}, Action.DUNNO, Rule.PASS),
        ({"window_messages": 201}, Action.HOLD, Rule.BURST),
        ({"window_recipients": 1001}, Action.HOLD, Rule.BURST),
        ({"login_networks": 5}, Action.DUNNO, Rule.PASS),
        (
            {"status": "suspended", "is_webmail": True, "recipient_count": 99},
            Action.REJECT,
            Rule.STATUS,
        ),
    ],
)
def test_rules_in_order(given, action, rule):
    decision = decide(facts(**given), LIMITS)
    assert (decision.action, decision.rule) == (action, rule)


def test_suspended_sender_is_told_why_and_whom_to_call():
    text = decide(facts(status="suspended"), LIMITS).postfix_action
    assert text.startswith("REJECT 5.7.1 ")
    assert "suspended" in text and "support on 0800 123" in text


def test_restricted_sender_is_told_to_reset_the_password():
    assert "reset its password" in decide(facts(status="restricted"), LIMITS).text


def test_webmail_over_the_cap_is_told_to_send_in_groups():
    text = decide(facts(is_webmail=True, recipient_count=31), LIMITS).postfix_action
    assert text.startswith("REJECT 5.5.3 ")
    assert "groups of 30 or less" in text


def test_a_login_from_too_many_networks_is_flagged_and_held_when_configured():
    flagged = decide(facts(login_networks=5), LIMITS)
    assert flagged.is_suspect and flagged.action == Action.DUNNO
    held = decide(
        facts(login_networks=5),
        Limits(**{**LIMITS.__dict__, "hold_suspect_logins": True}),
    )
    assert (held.action, held.rule) == (Action.HOLD, Rule.SUSPECT_LOGIN)


def test_a_hold_says_why():
    assert decide(facts(window_messages=201), LIMITS).postfix_action.startswith(
        "HOLD held for review: 201 messages"
    )
