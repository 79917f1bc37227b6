"""The corpus shipped with Mail::DeliveryStatus::BounceParser is read as
tests/fixtures/bounceparser/expected.json labels it (see its README: where
the desk's policy differs from that module's tests, and why)."""

import pytest

from complaints.ingest import classify, scoring

from .conftest import BOUNCEPARSER, FIXTURES

ENTRIES = scoring.load_labelled(FIXTURES / "bounceparser", samples=BOUNCEPARSER)


def test_every_sample_is_labelled():
    assert {e.path.name for e in ENTRIES} == {
        p.name for p in BOUNCEPARSER.glob("*.msg")
    }
    assert len(ENTRIES) == 126


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e.path.name)
def test_sample_kind_recipients_and_hard_flags(entry):
    scores = scoring.Scores()
    prediction = scoring.predict(classify(entry.path.read_bytes()))
    scores.add(entry, prediction, bounce_only=False)
    assert scores.misses == []
