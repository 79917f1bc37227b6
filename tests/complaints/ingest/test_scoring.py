"""Scoring compares a parser's answer with what a corpus file is known to be."""

from pathlib import Path

from complaints.ingest import scoring

EXPECTED = scoring.Expected(
    Path("a.eml"), "bounce", {"gone@example.org": True, "full@example.org": False}, "x"
)


def test_a_right_answer_scores_full_marks():
    scores = scoring.Scores()
    got = scoring.Prediction(
        "bounce", {"gone@example.org": True, "full@example.org": False}
    )
    scores.add(EXPECTED, got, bounce_only=False)
    assert (scores.kind_right, scores.exact_right, scores.hard_right) == (1, 1, 2)
    assert scores.misses == []


def test_a_soft_failure_called_hard_counts_as_false_hard():
    scores = scoring.Scores()
    got = scoring.Prediction(
        "bounce", {"gone@example.org": True, "full@example.org": True}
    )
    scores.add(EXPECTED, got, bounce_only=False)
    assert (scores.hard_right, scores.false_hard) == (1, 1)


def test_a_missing_recipient_spoils_exactness_and_its_hard_flag():
    scores = scoring.Scores()
    scores.add(
        EXPECTED,
        scoring.Prediction("bounce", {"gone@example.org": True}),
        bounce_only=False,
    )
    assert (scores.exact_right, scores.hard_right) == (0, 1)


def test_a_bounce_only_parser_is_scored_on_bounce_or_not():
    scores = scoring.Scores()
    complaint = scoring.Expected(Path("c.eml"), "complaint", {}, "x")
    scores.add(complaint, scoring.Prediction("other", {}), bounce_only=True)
    assert scores.kind_right == 1


def test_labelled_entries_name_recipients_by_the_address_mailed(tmp_path):
    (tmp_path / "m.eml").write_bytes(b"x")
    (tmp_path / "expected.json").write_text(
        '{"m.eml": {"kind": "bounce", "recipients": {"final@example.org":'
        ' {"status": "5.1.1", "hard": true, "original": "Mailed@example.org"}}}}'
    )
    (entry,) = scoring.load_labelled(tmp_path)
    assert entry.recipients == {"mailed@example.org": True}
