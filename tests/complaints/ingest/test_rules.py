"""complaints.ingest.rules: SMTP stages, read only when a rule asks."""

import re

import pytest

from complaints.ingest import reasons, rules
from complaints.ingest.rules import LazyStage, smtp_stage

from .conftest import same_matches
from .test_prefilter import LINES


def _stage_without_word_checks(text: str) -> str | None:
    """``smtp_stage`` as it was before each stage's words were checked first."""
    best, where = None, -1
    for stage, pattern in rules._STAGE_RE:
        for match in re.finditer(pattern, text):
            if match.start() > where:
                best, where = stage, match.start()
    return best


def test_each_stages_words_are_in_every_text_its_pattern_matches(probe_texts):
    words = " ".join(w for ws in rules._STAGE_WORDS.values() for w in ws)
    texts = probe_texts(f"{words} after end of in reply to >>> : ", count=30000)
    texts += [
        "550 5.7.1 after end of data: spam",
        ">>> MAIL From:<a@b> <<< 550 denied >>> RCPT To:<c@d>".lower(),
        "554 rejected after bdat",
        "421 greeting refused while connected to mx",
        "550 helo name invalid",
        # Each way an "after" branch of the DATA and MAIL patterns goes on.
        *(
            f"550 {after} {middle}{what} x"
            for after in ("after", "after the", "after sending", "after sending the")
            for middle in ("", "end of ", "pipelined ", "the end of ")
            for what in ("data", "message", "body", "mail", "bdat", "rcpt to")
        ),
    ]
    for text in texts:
        lowered = text.lower()
        assert smtp_stage(lowered) == _stage_without_word_checks(lowered), text


def test_a_lazy_stage_is_read_once_and_only_when_asked(monkeypatch):
    reads = []

    def counted(text):
        reads.append(text)
        return rules.DATA

    monkeypatch.setattr(rules, "smtp_stage", counted)
    stage = LazyStage("after end of data")
    assert reads == []
    assert stage.get() == rules.DATA
    assert stage.get() == rules.DATA
    assert reads == ["after end of data"]


@pytest.mark.parametrize("rule", reasons.RULES, ids=lambda r: f"{r.reason}-{r.detail}")
def test_guarded_vetoes_and_required_words_find_what_plain_ones_find(rule):
    for patterns, guarded in ((rule.vetoes, rule.veto), (rule.requires, rule.need)):
        if not patterns:
            continue
        plain = re.compile(rf"\b(?:{'|'.join(patterns)})")
        for line in LINES:
            assert same_matches(plain, guarded, line), line


def test_a_lazy_stage_is_not_read_for_stages_whose_words_are_absent(monkeypatch):
    reads = []
    monkeypatch.setattr(rules, "smtp_stage", lambda text: reads.append(text) or None)
    words = rules.stage_words(frozenset({rules.MAIL, rules.HELO}))
    assert LazyStage("550 5.1.1 user unknown after rcpt to").get_if(words) is None
    assert reads == []
    LazyStage("550 5.7.1 rejected after mail from").get_if(words)
    assert reads == ["550 5.7.1 rejected after mail from"]
