"""The three-strikes policy as tables. Pure: no database, no settings, no clock.

Revoked strikes are left out by the caller (the services pass only unrevoked
strikes' issue times), so "a revoked strike" appears here as a time not passed.
"""

from datetime import UTC, datetime, timedelta

import pytest

from complaints import strikes
from complaints.models import Strike
from complaints.strikes import (
    Eligibility,
    Outcome,
    Reason,
    eligibility,
    is_bounce_storm,
    is_live,
    verdict,
)

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
DEFAULTS = {"complaints_per_strike": 1, "bogus_min": 25, "bogus_rate": 0.10}
COMPLAINTS = Eligibility(reason=Reason.COMPLAINTS, is_bounce_storm=False)
STORM = Eligibility(reason=Reason.BOGUS_ADDRESSES, is_bounce_storm=True)
NOTHING = Eligibility(reason=None, is_bounce_storm=False)


def days_ago(*days: float) -> list[datetime]:
    return [NOW - timedelta(days=d) for d in days]


@pytest.mark.parametrize(
    ("complaints", "hard", "recipients", "overrides", "expected"),
    [
        # Complaints, default threshold 1.
        (0, 0, None, {}, NOTHING),
        (1, 0, None, {}, COMPLAINTS),
        (10, 0, 1000, {}, COMPLAINTS),
        # Complaints, threshold raised to 3: at, below and above.
        (2, 0, None, {"complaints_per_strike": 3}, NOTHING),
        (3, 0, None, {"complaints_per_strike": 3}, COMPLAINTS),
        (4, 0, None, {"complaints_per_strike": 3}, COMPLAINTS),
        # A threshold of 0 never makes a mailing without complaints eligible.
        (0, 0, None, {"complaints_per_strike": 0}, NOTHING),
        (1, 0, None, {"complaints_per_strike": 0}, COMPLAINTS),
        # Hard bounces with the recipient count unknown: the count alone decides.
        (0, 24, None, {}, NOTHING),
        (0, 25, None, {}, STORM),
        (0, 26, None, {}, STORM),
        # A recipient count of 0 is treated as unknown.
        (0, 25, 0, {}, STORM),
        (0, 24, 0, {}, NOTHING),
        # Both the count and the rate must be reached.
        (0, 24, 100, {}, NOTHING),
        (0, 25, 250, {}, STORM),  # exactly 10%
        (0, 25, 251, {}, NOTHING),  # just under 10%
        (0, 25, 249, {}, STORM),
        (0, 30, 300, {}, STORM),  # exactly 10% where floats would round badly
        (0, 29, 300, {}, NOTHING),
        (0, 100, 1000, {}, STORM),
        (0, 99, 1000, {}, NOTHING),
        (0, 25, 25, {}, STORM),  # every recipient bounced
        (0, 40, 30, {}, STORM),  # more bounces than known recipients
        (0, 24, 24, {}, NOTHING),  # every one bounced, but fewer than the minimum
        # Soft failures are not counted here at all; only hard bounces arrive.
        (0, 0, 10, {}, NOTHING),
        # Other settings.
        (0, 5, 10, {"bogus_min": 5, "bogus_rate": 0.5}, STORM),
        (0, 5, 11, {"bogus_min": 5, "bogus_rate": 0.5}, NOTHING),
        (0, 1, None, {"bogus_min": 0}, STORM),  # a minimum of 0 acts as 1
        (0, 0, None, {"bogus_min": 0}, NOTHING),
        (0, 3, 30, {"bogus_min": 3, "bogus_rate": 0.1}, STORM),
        # A bounce storm with complaints too: the storm is the reason.
        (5, 25, 100, {}, STORM),
        # Complaints with bounces below the storm threshold: complaints decide.
        (1, 24, 100, {}, COMPLAINTS),
        (1, 25, 1000, {}, COMPLAINTS),
    ],
)
def test_eligibility_table(complaints, hard, recipients, overrides, expected):
    assert (
        eligibility(
            complaint_count=complaints,
            hard_bounce_count=hard,
            recipient_count=recipients,
            **{**DEFAULTS, **overrides},
        )
        == expected
    )


def test_eligible_mailing_says_so_and_ineligible_does_not():
    assert COMPLAINTS.is_eligible
    assert STORM.is_eligible
    assert not NOTHING.is_eligible


@pytest.mark.parametrize(
    ("hard", "recipients", "expected"),
    [(25, None, True), (24, None, False), (25, 250, True), (25, 251, False)],
)
def test_bounce_storm_needs_the_count_and_the_share(hard, recipients, expected):
    assert (
        is_bounce_storm(
            hard_bounce_count=hard,
            recipient_count=recipients,
            bogus_min=25,
            bogus_rate=0.1,
        )
        is expected
    )


@pytest.mark.parametrize(
    ("issued", "limit", "window_days", "storm", "live", "outcome"),
    [
        # Default limit 3, strikes never expire.
        ([], 3, None, False, 0, Outcome.NONE),
        (days_ago(0), 3, None, False, 1, Outcome.WARN),
        (days_ago(0, 10), 3, None, False, 2, Outcome.FINAL_WARNING),
        (days_ago(0, 10, 20), 3, None, False, 3, Outcome.SUSPEND),
        (days_ago(0, 10, 20, 30), 3, None, False, 4, Outcome.SUSPEND),
        # Very old strikes still count when there is no window.
        (days_ago(0, 3000, 6000), 3, None, False, 3, Outcome.SUSPEND),
        # One of three revoked: the caller passes the other two.
        (days_ago(0, 20), 3, None, False, 2, Outcome.FINAL_WARNING),
        # A window of 90 days: older strikes stop counting.
        (days_ago(0, 10, 89), 3, 90, False, 3, Outcome.SUSPEND),
        (days_ago(0, 10, 90), 3, 90, False, 2, Outcome.FINAL_WARNING),  # exactly 90
        (days_ago(0, 10, 91), 3, 90, False, 2, Outcome.FINAL_WARNING),
        (days_ago(0, 100, 200), 3, 90, False, 1, Outcome.WARN),
        (days_ago(0, 89.99), 3, 90, False, 2, Outcome.FINAL_WARNING),
        (days_ago(100, 200), 3, 90, False, 0, Outcome.NONE),
        # Other limits: the strike just below the limit is the final warning.
        (days_ago(0), 1, None, False, 1, Outcome.SUSPEND),
        (days_ago(0), 2, None, False, 1, Outcome.FINAL_WARNING),
        (days_ago(0, 1), 2, None, False, 2, Outcome.SUSPEND),
        (days_ago(0), 5, None, False, 1, Outcome.WARN),
        (days_ago(0, 1, 2), 5, None, False, 3, Outcome.WARN),
        (days_ago(0, 1, 2, 3), 5, None, False, 4, Outcome.FINAL_WARNING),
        (days_ago(0, 1, 2, 3, 4), 5, None, False, 5, Outcome.SUSPEND),
        # A limit of 0 acts as 1: any strike suspends.
        (days_ago(0), 0, None, False, 1, Outcome.SUSPEND),
        # A bounce storm suspends whatever the count.
        (days_ago(0), 3, None, True, 1, Outcome.SUSPEND),
        (days_ago(0, 10), 3, None, True, 2, Outcome.SUSPEND),
        (days_ago(0, 100, 200), 3, 90, True, 1, Outcome.SUSPEND),
        # A strike issued a moment in the future (clock skew) is live.
        ([NOW + timedelta(seconds=1)], 3, 90, False, 1, Outcome.WARN),
    ],
)
def test_verdict_table(issued, limit, window_days, storm, live, outcome):
    window = timedelta(days=window_days) if window_days else None
    result = verdict(
        issued_at=issued, now=NOW, limit=limit, window=window, bounce_storm=storm
    )
    assert (result.live_strikes, result.outcome) == (live, outcome)


@pytest.mark.parametrize(
    ("age", "window_days", "expected"),
    [
        (timedelta(0), None, True),
        (timedelta(days=10_000), None, True),
        (timedelta(days=29, hours=23), 30, True),
        (timedelta(days=30), 30, False),
        (timedelta(days=31), 30, False),
    ],
)
def test_strike_is_live_until_it_is_as_old_as_the_window(age, window_days, expected):
    window = timedelta(days=window_days) if window_days else None
    assert is_live(issued_at=NOW - age, now=NOW, window=window) is expected


def test_verdict_accepts_any_sequence_of_times():
    result = verdict(issued_at=tuple(days_ago(0, 1)), now=NOW, limit=3, window=None)
    assert result.outcome == Outcome.FINAL_WARNING


def test_reasons_match_the_strike_model_choices():
    assert {str(r) for r in Reason} == set(Strike.Reason.values)


@pytest.mark.parametrize(
    ("reason", "storm", "compromised", "auto", "expected"),
    [
        (None, False, False, True, strikes.AutoAction.NONE),
        (strikes.Reason.COMPLAINTS, False, False, False, strikes.AutoAction.NONE),
        (strikes.Reason.COMPLAINTS, False, False, True, strikes.AutoAction.STRIKE),
        (strikes.Reason.COMPLAINTS, False, True, True, strikes.AutoAction.SECURE),
        (strikes.Reason.COMPLAINTS, False, True, False, strikes.AutoAction.NONE),
        (strikes.Reason.BOGUS_ADDRESSES, True, False, False, strikes.AutoAction.STRIKE),
        (strikes.Reason.BOGUS_ADDRESSES, True, True, False, strikes.AutoAction.STRIKE),
        (strikes.Reason.BOGUS_ADDRESSES, True, True, True, strikes.AutoAction.SECURE),
    ],
)
def test_rule_8_likely_compromised_mailings_secure_the_account_with_automatic_strikes(
    reason, storm, compromised, auto, expected
):
    found = strikes.Eligibility(reason=reason, is_bounce_storm=storm)
    assert (
        strikes.automatic_action(
            found=found, is_likely_compromised=compromised, auto_strike=auto
        )
        == expected
    )


@pytest.mark.parametrize(
    ("state", "has_strike", "live", "offered"),
    [
        ("open", False, False, {"strike", "compromised", "dismiss"}),
        ("open", True, True, {"revoke"}),
        ("struck", True, True, {"revoke"}),
        ("struck", True, False, {"compromised"}),
        ("held", False, False, {"strike", "compromised", "release", "reject"}),
        ("compromised", False, False, set()),
        ("dismissed", False, False, set()),
        ("released", False, False, {"strike"}),
        ("rejected", True, False, set()),
    ],
)
def test_mailing_decisions_follow_the_state_and_the_strike(
    state, has_strike, live, offered
):
    decisions = strikes.mailing_decisions(
        state=state, has_strike=has_strike, has_live_strike=live
    )
    assert {str(d) for d in decisions} == offered


def test_live_since_agrees_with_is_live_at_the_boundary():
    now = datetime(2026, 6, 1, tzinfo=UTC)
    window = timedelta(days=30)
    since = strikes.live_since(now=now, window=window)
    assert not strikes.is_live(issued_at=since, now=now, window=window)
    later = since + timedelta(seconds=1)
    assert strikes.is_live(issued_at=later, now=now, window=window)
    assert strikes.live_since(now=now, window=None) is None


def test_standing_reads_as_n_of_limit():
    assert strikes.standing(live_strikes=2, limit=3) == "2 of 3"
