"""complaints.linking.grouping: campaigns, outbreaks and the compromise suspicion."""

from datetime import UTC, datetime, timedelta

import pytest

from complaints.linking.grouping import (
    Candidate,
    MailingKind,
    ReportShape,
    ReportSignals,
    choose,
    signals_add,
    suspicion,
)

T0 = datetime(2026, 9, 4, 10, 0, tzinfo=UTC)
WINDOW = timedelta(hours=48)


def campaign(pk, subject, *, subscriber=1, at=T0, kind=MailingKind.CAMPAIGN):
    return Candidate(pk, subscriber, kind, [subject], at, at)


@pytest.mark.parametrize(
    ("shape", "candidates", "expected"),
    [
        # A strong key wins over everything.
        (
            ReportShape(1, T0, "other", keyed_mailing_id=9),
            [campaign(9, "x")],
            (9, "known key"),
        ),
        # Similar subject within the window joins the campaign.
        (
            ReportShape(1, T0 + timedelta(hours=30), "spring sale"),
            [campaign(4, "spring sale")],
            (4, "similar subject"),
        ),
        # Outside the window: a new campaign.
        (
            ReportShape(1, T0 + timedelta(days=5), "spring sale"),
            [campaign(4, "spring sale")],
            (None, "new campaign"),
        ),
        # Another subscriber's campaign is never joined.
        (
            ReportShape(2, T0, "spring sale"),
            [campaign(4, "spring sale")],
            (None, "new campaign"),
        ),
        # A compromise-looking report founds, then joins, an outbreak.
        (
            ReportShape(1, T0, "cheap meds", shows_compromise=True),
            [campaign(4, "spring sale")],
            (None, "new outbreak"),
        ),
        (
            ReportShape(1, T0, "crypto", shows_compromise=True),
            [campaign(5, "meds", kind=MailingKind.OUTBREAK)],
            (5, "same outbreak"),
        ),
        # A bare sender address confirms a campaign and founds nothing.
        (
            ReportShape(1, T0, "spring sale", needs_confirmation=True),
            [campaign(4, "spring sale")],
            (4, "similar subject"),
        ),
        (
            ReportShape(1, T0, "cheap meds", needs_confirmation=True),
            [campaign(4, "spring sale")],
            (None, "unconfirmed"),
        ),
        (
            ReportShape(1, T0, "cheap meds", needs_confirmation=True),
            [campaign(5, "crypto", kind=MailingKind.OUTBREAK)],
            (5, "during an outbreak"),
        ),
        # An unrelated subject during an outbreak is part of it.
        (
            ReportShape(1, T0, "dating"),
            [campaign(5, "meds", kind=MailingKind.OUTBREAK)],
            (5, "during an outbreak"),
        ),
    ],
)
def test_choose(shape, candidates, expected):
    found = choose(shape, candidates, window=WINDOW)
    assert (found.mailing_id, found.how) == expected


def test_the_best_matching_campaign_wins_whatever_the_candidate_order():
    candidates = [campaign(3, "winter sale"), campaign(4, "spring sale now")]
    shape = ReportShape(1, T0, "spring sale now")
    assert choose(shape, candidates, window=WINDOW).mailing_id == 4
    assert choose(shape, list(reversed(candidates)), window=WINDOW).mailing_id == 4


@pytest.mark.parametrize(
    ("reports", "variants", "flagged"),
    [
        ([ReportSignals(sender="a@x.example", is_direct_to_mx=True)], ["meds"], True),
        (
            [ReportSignals(sender="a@x.example", foreign_network="185.220.101.0/24")],
            ["meds"],
            True,
        ),
        (
            [ReportSignals(sender="a@x.example")] * 3,
            ["meds", "crypto deals", "singles tonight"],
            True,
        ),
        ([ReportSignals(sender="news@shop.example")] * 5, ["spring sale"], False),
    ],
)
def test_suspicion(reports, variants, flagged):
    signals = {}
    for report in reports:
        signals = signals_add(signals, report)
    assert (
        suspicion(signals=signals, variants=variants).is_likely_compromised is flagged
    )


RESEND = timedelta(days=4)


@pytest.mark.parametrize(
    ("shape", "candidates", "expected"),
    [
        # Re-sent three days later to those who did not open it: the same one.
        (
            ReportShape(1, T0 + timedelta(days=3), "spring sale"),
            [campaign(4, "spring sale")],
            (4, "re-sent"),
        ),
        # ...whichever copy the desk saw first.
        (
            ReportShape(1, T0 - timedelta(days=3), "spring sale"),
            [campaign(4, "spring sale")],
            (4, "re-sent"),
        ),
        # A campaign within the mailing window still wins over a re-send.
        (
            ReportShape(1, T0 + timedelta(days=3), "spring sale"),
            [
                campaign(4, "spring sale"),
                campaign(6, "spring sale", at=T0 + timedelta(days=2)),
            ],
            (6, "similar subject"),
        ),
        # A new issue a week on is a new mailing, subject or not.
        (
            ReportShape(1, T0 + timedelta(days=7), "spring sale"),
            [campaign(4, "spring sale")],
            (None, "new campaign"),
        ),
        # Another subject days later is another mailing.
        (
            ReportShape(1, T0 + timedelta(days=3), "winter offers"),
            [campaign(4, "spring sale")],
            (None, "new campaign"),
        ),
        # Another subscriber's newsletter is never re-sent by this one.
        (
            ReportShape(2, T0 + timedelta(days=3), "spring sale"),
            [campaign(4, "spring sale")],
            (None, "new campaign"),
        ),
    ],
)
def test_campaign_resent_days_later(shape, candidates, expected):
    found = choose(shape, candidates, window=WINDOW, resend_window=RESEND)
    assert (found.mailing_id, found.how) == expected


def test_campaign_resent_days_later_is_off_without_a_resend_window():
    shape = ReportShape(1, T0 + timedelta(days=3), "spring sale")
    assert choose(shape, [campaign(4, "spring sale")], window=WINDOW).mailing_id is None


@pytest.mark.parametrize(
    ("shape", "expected"),
    [
        # The subscriber's own newsletter through the relays, sent while the
        # infected PC spams straight to MX: a campaign of its own.
        (
            ReportShape(1, T0, "spring sale", is_owner_relayed=True),
            (None, "new campaign"),
        ),
        # ...which then gathers its copies, not the outbreak.
        (
            ReportShape(1, T0, "dating", is_owner_relayed=False),
            (5, "during an outbreak"),
        ),
        # Compromise shown still joins the outbreak.
        (
            ReportShape(1, T0, "crypto", shows_compromise=True, is_owner_relayed=False),
            (5, "same outbreak"),
        ),
    ],
)
def test_own_relayed_mail_during_an_outbreak_is_not_the_outbreak(shape, expected):
    found = choose(
        shape, [campaign(5, "meds", kind=MailingKind.OUTBREAK)], window=WINDOW
    )
    assert (found.mailing_id, found.how) == expected


def test_own_relayed_mail_joins_its_campaign_during_an_outbreak():
    shape = ReportShape(1, T0, "spring sale", is_owner_relayed=True)
    candidates = [
        campaign(5, "meds", kind=MailingKind.OUTBREAK),
        campaign(7, "spring sale"),
    ]
    assert choose(shape, candidates, window=WINDOW).mailing_id == 7
