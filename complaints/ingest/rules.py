"""The rule engine of ``reasons``: SMTP stages and one rule's matching.

A ``Rule`` is a reason's phrases with their vetoes and the context where
they apply; ``smtp_stage`` reads which SMTP command a reply answered.
Nothing here knows any reason: the vocabulary and the rules are in
``reasons``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .prefilter import Phrases, Starts

DATA, RCPT, MAIL, HELO, CONNECT = "data", "rcpt", "mail", "helo", "connect"
_STAGE_RE = (
    (
        DATA,
        r"after (the )?(end of )?(pipelined )?(data|message|body)\b|end of data"
        r"|(in reply to|during|after sending) (the )?(end of )?(data|message)"
        r"( command| content)?\b|>>> data\b|data command (rejected|failed)"
        r"|message content rejected|after bdat|in reply to bdat",
    ),
    (RCPT, r"rcpt to ?:|rcpt to command|after rcpt\b|in reply to rcpt|>>> rcpt\b"),
    (
        MAIL,
        r"mail from ?:|mail from command|after (pipelined )?mail\b|in reply to mail"
        r"|>>> mail\b",
    ),
    (HELO, r"\b(he|eh)lo\b"),
    (
        CONNECT,
        r"after (the )?initial connection|in reply to (the )?(initial )?greeting"
        r"|(smtp )?(greeting|banner) (rejected|refused)|while connected to",
    ),
)
# Words without which each stage pattern cannot match: most texts name none
# of a stage's, and its pattern is then not searched.
_STAGE_WORDS = {
    # Each branch of the DATA and MAIL patterns holds one of these: "message"
    # and "mail" alone are in most replies, these in few.
    DATA: (
        # "after" alone is in most replies ("after RCPT TO"): these are the
        # ways the pattern's "after" branches go on.
        "after the",
        "after end of",
        "after pipelined",
        "after data",
        "after message",
        "after body",
        "after sending",
        "after bdat",
        "end of data",
        "in reply to",
        "during",
        ">>> data",
        "data command",
        "message content rejected",
    ),
    RCPT: ("rcpt",),
    MAIL: (
        "mail from",
        "after mail",
        "after pipelined mail",
        "in reply to mail",
        ">>> mail",
    ),
    HELO: ("helo", "ehlo"),
    CONNECT: ("connect", "greeting", "banner"),
}
# Each stage's words as one pattern of literals: one search in C, not a
# containment test per word.
_STAGES = tuple(
    (
        stage,
        re.compile("|".join(map(re.escape, _STAGE_WORDS[stage]))),
        re.compile(pattern),
    )
    for stage, pattern in _STAGE_RE
)


def smtp_stage(text: str) -> str | None:
    """The SMTP command a reply answered, as the text names it, else None.

    A transcript can name several commands (Sendmail's ``>>> MAIL`` then
    ``>>> RCPT``): the last one named is the one that failed.
    """
    best, where = None, -1
    for stage, words, pattern in _STAGES:
        if words.search(text) is None:
            continue
        for match in pattern.finditer(text):
            if match.start() > where:
                best, where = stage, match.start()
    return best


class LazyStage:
    """The SMTP stage ``text`` names, read when a rule first asks: few texts
    match the phrases of a rule limited to stages, so most never need it."""

    __slots__ = ("_text", "_stage", "_is_read")

    def __init__(self, text: str) -> None:
        self._text = text
        self._stage: str | None = None
        self._is_read = False

    def get(self) -> str | None:
        if not self._is_read:
            self._stage, self._is_read = smtp_stage(self._text), True
        return self._stage

    def get_if(self, words: re.Pattern[str]) -> str | None:
        """``get()`` when ``words`` (the words of the stages a rule is limited
        to) occur in the text, else None without reading it: ``smtp_stage``
        names no stage whose words are absent. A rule limited to MAIL FROM
        and HELO matches nearly every reply's phrases, so this is asked of
        most texts, and most name neither."""
        if self._is_read or words.search(self._text) is not None:
            return self.get()
        return None


def stage_words(stages: frozenset[str]) -> re.Pattern[str]:
    """The words of ``stages`` (``_STAGE_WORDS``) as one pattern of literals."""
    words = [word for stage in sorted(stages) for word in _STAGE_WORDS[stage]]
    return re.compile("|".join(map(re.escape, words)))


@dataclass(frozen=True)
class Rule:
    """One way of wording a reason.

    ``phrases`` and ``vetoes`` are regular expressions (lowercase, each
    opening at a word start). ``stages`` (SMTP commands), ``subjects`` (the
    middle number of an RFC 3463 status) and ``requires`` (context words)
    limit where the rule applies: when any is given, at least one must hold.
    """

    reason: str
    detail: str
    phrases: tuple[str, ...]
    vetoes: tuple[str, ...] = ()
    stages: frozenset[str] | None = None
    subjects: frozenset[str] | None = None
    requires: tuple[str, ...] = ()
    pattern: re.Pattern[str] = field(init=False, repr=False, compare=False)
    veto: re.Pattern[str] | None = field(init=False, repr=False, compare=False)
    need: re.Pattern[str] | None = field(init=False, repr=False, compare=False)
    starts: Starts = field(init=False, repr=False, compare=False)
    # ``pattern`` and ``veto`` as ``Phrases``, which try them only where the
    # text's word starts allow a match.
    found: Phrases = field(init=False, repr=False, compare=False)
    vetoed: Phrases | None = field(init=False, repr=False, compare=False)
    # No stage, subject or required word limits where the rule applies.
    anywhere: bool = field(init=False, repr=False, compare=False)
    # The words of ``stages`` (see ``LazyStage.get_if``).
    stage_words: re.Pattern[str] | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        found = _compile(self.phrases)
        vetoed = _phrases(self.vetoes)
        set_ = object.__setattr__
        set_(self, "found", found)
        set_(self, "pattern", found.guarded)
        set_(self, "starts", found.starts)
        set_(self, "vetoed", vetoed)
        set_(self, "veto", vetoed.guarded if vetoed else None)
        set_(self, "need", either(self.requires))
        set_(
            self,
            "stage_words",
            stage_words(self.stages) if self.stages is not None else None,
        )
        set_(
            self,
            "anywhere",
            self.stages is None and self.subjects is None and not self.requires,
        )

    def applies(
        self,
        text: str,
        starts: set[str],
        stage: str | LazyStage | None,
        subject: str,
        context: str = "",
        memo: dict[int, bool] | None = None,
    ) -> bool:
        """True when this rule names the reason of ``text``.

        ``memo`` keeps, for one text, whether each phrase pattern matched:
        rules sharing a phrase list search the text once.
        """
        # Cheapest test first: most rules cannot even start in most texts.
        if not self.starts.may_match(starts):
            return False
        return self.holds(text, starts, stage, subject, context, memo)

    def holds(
        self,
        text: str,
        starts: set[str],
        stage: str | LazyStage | None,
        subject: str,
        context: str = "",
        memo: dict[int, bool] | None = None,
    ) -> bool:
        """``applies``, for a rule whose starts are known to be in ``starts``."""
        key = id(self.found)
        found = memo.get(key) if memo is not None else None
        if found is None:
            found = self.found.occurs_in(text, starts)
            if memo is not None:
                memo[key] = found
        if not found:
            return False
        # Both tests must pass: the veto, tried at word starts, is the cheaper.
        if self.vetoed and self.vetoed.occurs_in(text, starts):
            return False
        return self._in_context(text, stage, subject, context)

    def _in_context(
        self,
        text: str,
        stage: str | LazyStage | None,
        subject: str,
        context: str = "",
    ) -> bool:
        """Stages, subjects and required words (looked for in ``text`` and
        ``context``): any one given suffices. Tried cheapest first."""
        if self.stages is None and self.subjects is None and self.need is None:
            return True
        if self.subjects is not None and subject in self.subjects:
            return True
        if self.stages is not None:
            if isinstance(stage, LazyStage):
                stage = stage.get_if(self.stage_words)  # type: ignore[arg-type]
            if stage in self.stages:
                return True
        return self.need is not None and bool(
            self.need.search(f"{text}\n{context}" if context else text)
        )


class RuleIndex:
    """The rules of a list that can match a text, from the text's word starts.

    Asking each rule's ``Starts`` in turn costs a call per rule for every
    text, and most texts can start the phrases of only a few rules. The index
    maps each phrase start to the rules (bits, by position) that have it, so
    one pass over the starts the text and the index share finds them all; a
    rule whose starts are not all known (or shorter than ``DEPTH``) is asked
    itself. Rules come out in list order, each at most once.
    """

    __slots__ = ("rules", "_by_start", "_keys", "_asked")

    def __init__(self, rules: tuple[Rule, ...]) -> None:
        self.rules = rules
        by_start: dict[str, int] = {}
        asked = []
        for position, rule in enumerate(rules):
            if not rule.starts.is_known or rule.starts.short:
                asked.append(position)
                continue
            for prefix in rule.starts.full:
                by_start[prefix] = by_start.get(prefix, 0) | 1 << position
        self._by_start = by_start
        self._keys = frozenset(by_start)
        self._asked = tuple(asked)

    def _mask(self, starts: set[str]) -> int:
        """The positions (bits) of the rules whose phrases may occur in a
        text with these starts."""
        rules, by_start = self.rules, self._by_start
        mask = 0
        for prefix in self._keys.intersection(starts):
            mask |= by_start[prefix]
        for position in self._asked:
            if rules[position].starts.may_match(starts):
                mask |= 1 << position
        return mask

    def first(
        self,
        text: str,
        starts: set[str],
        stage: str | LazyStage | None,
        subject: str,
        context: str = "",
    ) -> Rule | None:
        """The first rule of the list that ``applies`` to ``text``, else None.

        ``Rule.holds`` for each candidate, written out in one loop: this runs
        for every reply and many notice lines, and a call per candidate and
        test was most of its cost.
        """
        rules = self.rules
        mask = self._mask(starts)
        # Whether each phrase list occurs: rules sharing one search it once.
        occurs: dict[int, bool] = {}
        while mask:
            lowest = mask & -mask
            mask ^= lowest
            rule = rules[lowest.bit_length() - 1]
            phrases = rule.found
            found = occurs.get(id(phrases))
            if found is None:
                found = occurs[id(phrases)] = phrases.occurs_in(text, starts)
            if not found:
                continue
            if rule.vetoed is not None and rule.vetoed.occurs_in(text, starts):
                continue
            if rule.anywhere or rule._in_context(text, stage, subject, context):
                return rule
        return None


_COMPILED: dict[tuple[str, ...], Phrases] = {}


def _compile(phrases: tuple[str, ...]) -> Phrases:
    """One compiled pattern per phrase list, shared by the rules using it,
    with what its matches can start with."""
    compiled = _COMPILED.get(phrases)
    if compiled is None:
        compiled = _COMPILED[phrases] = Phrases(phrases)
    return compiled


def _phrases(patterns: tuple[str, ...]) -> Phrases | None:
    """The vetoes as one ``Phrases``, None when there are none."""
    return Phrases(patterns) if patterns else None


def either(patterns: tuple[str, ...]) -> re.Pattern[str] | None:
    """The vetoes or required words as one pattern, guarded like the phrases
    (a required word is looked for in the reply and the whole notice)."""
    if not patterns:
        return None
    plain = re.compile(rf"\b(?:{'|'.join(patterns)})")
    return Starts(plain).guarded(plain)
