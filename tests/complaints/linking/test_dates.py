"""complaints.linking.dates: strict and loose dates, never an exception."""

from datetime import UTC, datetime, timedelta, timezone

import pytest

from complaints.linking.dates import parse_date

CEST = timezone(timedelta(hours=2))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Fri, 4 Sep 2026 13:53:02 +0200 (CEST)",
            datetime(2026, 9, 4, 13, 53, 2, tzinfo=CEST),
        ),
        ("26 Nov 2026 10:00:00 -0000", datetime(2026, 11, 26, 10, 0, tzinfo=UTC)),
        # Gmail's inline forward.
        ("Fri, Sep 4, 2026 at 1:53 PM", datetime(2026, 9, 4, 13, 53, tzinfo=UTC)),
        # Outlook's "Sent:" line.
        ("Friday, September 4, 2026 1:58 PM", datetime(2026, 9, 4, 13, 58, tzinfo=UTC)),
        # German, French, Spanish and Apple Mail attribution lines.
        ("04.09.2026 um 13:53", datetime(2026, 9, 4, 13, 53, tzinfo=UTC)),
        ("ven. 4 sept. 2026 à 13:53", datetime(2026, 9, 4, 13, 53, tzinfo=UTC)),
        ("vie, 4 sept 2026 a las 13:53", datetime(2026, 9, 4, 13, 53, tzinfo=UTC)),
        ("4 Sep 2026, at 13:53", datetime(2026, 9, 4, 13, 53, tzinfo=UTC)),
        ("9/4/26 1:53 PM", datetime(2026, 9, 4, 13, 53, tzinfo=UTC)),
        ("2026-09-04 13:53", datetime(2026, 9, 4, 13, 53, tzinfo=UTC)),
        (
            "Fri, Sep 4, 2026 at 1:53 PM Bob <bob@x.example>",
            datetime(2026, 9, 4, 13, 53, tzinfo=UTC),
        ),
    ],
)
def test_dates_are_read_in_the_forms_mail_systems_write(text, expected):
    assert parse_date(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        None,
        "garbage",
        "Fri, 4 Sep 99999 13:53:02 +0200",
        "31.02.2026 10:00",
        "Sep 2026",
    ],
)
def test_an_unreadable_or_absurd_date_is_none(text):
    assert parse_date(text) is None
