"""The phrase pre-check only ever skips patterns that could not have matched."""

import re

import pytest

from complaints.ingest import reasons, reasons_local
from complaints.ingest.prefilter import Phrases, Starts, word_starts

from .conftest import EMAILS, FLUFL


def _lines() -> list[str]:
    paths = sorted(EMAILS.glob("*.eml")) + sorted(FLUFL.glob("*.txt"))
    lines = []
    for path in paths:
        lines += path.read_bytes().decode("latin-1").lower().split("\n")
    return [line for line in lines if line.strip()]


LINES = _lines()


def _first_rule(text: str) -> tuple[str, str] | None:
    """``match_reason`` without the pre-check: every rule, in order."""
    text = text[:2000].lower()
    found = reasons._STATUS_RE.search(text)
    subject = found.group(1) if found else ""
    stage = reasons.smtp_stage(text)
    for rule in reasons.RULES_IN_ORDER:
        if (
            rule._in_context(text, stage, subject)
            and rule.pattern.search(text)
            and not (rule.veto and rule.veto.search(text))
        ):
            return rule.reason, rule.detail
    for reason, detail, pattern, _starts in reasons_local._LOCAL:
        if pattern.search(text):
            return reason, detail
    if text.isascii():
        return None
    for reason, detail, pattern in reasons_local._CJK:
        if pattern.search(text):
            return reason, detail
    return None


def test_match_reason_agrees_with_trying_every_rule():
    assert [reasons.match_reason(t) for t in LINES] == [_first_rule(t) for t in LINES]


RULES = [(r.reason, r.detail, r.pattern, r.starts) for r in reasons.RULES] + list(
    reasons_local._LOCAL
)


@pytest.mark.parametrize("rule", RULES, ids=lambda r: f"{r[0]}-{r[1]}")
def test_a_skipped_rule_never_matches(rule):
    _reason, _detail, pattern, starts = rule
    for line in LINES:
        if not starts.may_match(word_starts(line)):
            assert pattern.search(line) is None


def test_short_phrases_and_optional_letters_are_found():
    starts = Starts(re.compile(r"\b(?:ip|e-?mail box|no mx)"))
    assert starts.may_match(word_starts("blocked ip"))
    assert starts.may_match(word_starts("the email box"))
    assert starts.may_match(word_starts("no mx record"))
    assert not starts.may_match(word_starts("nothing to see"))


def test_pattern_it_cannot_read_is_always_run():
    for pattern in (r"spam", r"\b(?i:spam)", r"\b(?:\w+ box)", r"\b(?:-x)"):
        assert Starts(re.compile(pattern)).may_match(set())


PHRASE_LISTS = sorted(
    {p for r in reasons.RULES for p in (r.phrases, r.vetoes) if p}, key=repr
)


@pytest.mark.parametrize("phrases", PHRASE_LISTS, ids=lambda p: p[0][:30])
def test_phrases_tried_at_word_starts_find_what_a_search_finds(phrases):
    found = Phrases(phrases)
    plain = re.compile(rf"\b(?:{'|'.join(phrases)})")
    # Accented copies: not ASCII, so the Unicode patterns answer.
    for line in LINES + [f"é{line}é" for line in LINES[::7]]:
        expected = plain.search(line) is not None
        assert found.occurs_in(line, word_starts(line)) is expected, line
