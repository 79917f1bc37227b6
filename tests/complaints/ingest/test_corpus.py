"""The scored corpus is large and varied enough, and the parser reads all of it.

tests/fixtures/corpus holds bounces in the formats of many mail systems,
written by ``generate.py`` from each system's layout and wording, with the
expected kind, recipients and hard flag stated by the case, not the parser.
"""

import json

import pytest

from complaints.ingest import classify, scoring

from .conftest import EMAILS, FIXTURES, FLUFL, FLUFL_EXPECTED

CORPUS = FIXTURES / "corpus"
ENTRIES = scoring.load_labelled(CORPUS, messages="messages")


def _all_entries():
    return [
        *scoring.load_labelled(EMAILS),
        *ENTRIES,
        *scoring.load_address_lists(FLUFL_EXPECTED / "expected.json", FLUFL),
    ]


def test_the_scored_corpus_has_300_files_over_40_mail_systems():
    entries = _all_entries()
    assert len(entries) >= 300
    assert len({e.system for e in ENTRIES}) >= 40
    expected = json.loads((CORPUS / "expected.json").read_text())
    assert {p.name for p in (CORPUS / "messages").glob("*.eml")} == set(expected)


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e.path.name)
def test_each_generated_bounce_is_read_as_expected(entry):
    scores = scoring.Scores()
    scores.add(
        entry, scoring.predict(classify(entry.path.read_bytes())), bounce_only=False
    )
    assert scores.misses == []


def test_the_whole_corpus_meets_the_bar_of_issue_12():
    scores = scoring.Scores()
    for entry in _all_entries():
        prediction = scoring.predict(classify(entry.path.read_bytes()))
        scores.add(entry, prediction, bounce_only=False)
    assert scores.kind_right / scores.kind_total >= 0.99
    assert scores.exact_right / scores.files >= 0.97
    assert scores.hard_right / scores.hard_total >= 0.976
