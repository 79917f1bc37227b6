"""A cheap pre-check that lets a big phrase regex skip text it cannot match.

Python's ``re`` tries every branch of an alternation at every position, so a
table of a few hundred phrases costs about a microsecond per character of
text. A phrase pattern written as ``\\b(?:phrase|phrase|...)`` can only match
where the text, at a word boundary, starts with one of the first few
characters of some phrase. ``Starts`` works those out once from the compiled
pattern's syntax tree; ``word_starts`` lists what a text offers, once per
text. A pattern whose starts the text lacks is skipped: that never changes
the outcome, because the pattern could not have matched there.

Anything the analysis does not understand (case-insensitive flags, classes
like ``\\w``, look-arounds) makes it give up for that branch, which only
makes the check less selective, never wrong.

``Phrases`` goes one step further for a pattern whose starts are all known:
a match can only begin where the text holds one of them, so the pattern is
tried there alone (``match`` at each such place) instead of searched for at
every word of the text, each time through every branch.
"""

from __future__ import annotations

import re

try:  # The syntax tree reader is private; without it every pattern just runs.
    from re import _constants as sre
    from re import _parser as sre_parse
except ImportError:  # pragma: no cover - present in every supported CPython
    sre = sre_parse = None

# Characters of a phrase used for the check: longer is more selective, but
# every word boundary of the text then yields more slices to compare.
DEPTH = 3
# Beyond this many spelled-out variants a branch is cut short.
_MAX_VARIANTS = 512
# Character classes up to this size are spelled out, letter by letter.
_MAX_CLASS = 24
# The first ``DEPTH`` characters at every word start, found in one C-level
# pass (a look-ahead, so that overlapping slices are all found). Each match
# then takes in the rest of its word: the search goes on after the word, not
# from each of its letters, and a word start is exactly where a run of word
# characters begins.
_WORD_STARTS = re.compile(rf"(?s)(?=(\w.{{0,{DEPTH - 1}}}))\w+")
# The same for ASCII text, where ``\b`` and ``\w`` mean what they mean in
# Unicode, read from a table instead of the Unicode database.
_WORD_STARTS_ASCII = re.compile(_WORD_STARTS.pattern, re.ASCII)
# (text, True) means exactly ``text``; (text, False) means ``text`` then
# something the analysis does not follow.
Variant = tuple[str, bool]
_UNKNOWN: list[Variant] = [("", False)]
_EMPTY: list[Variant] = [("", True)]


def _class_chars(items: list) -> list[Variant]:
    chars: list[str] = []
    for op, av in items:
        if op is sre.LITERAL:
            chars.append(chr(av))
        elif op is sre.RANGE and av[1] - av[0] < _MAX_CLASS:
            chars.extend(chr(c) for c in range(av[0], av[1] + 1))
        else:  # NEGATE, CATEGORY (\w, \s) or a wide range
            return _UNKNOWN
    if len(chars) > _MAX_CLASS:
        return _UNKNOWN
    return [(ch, True) for ch in chars]


def _repeat(av: tuple) -> list[Variant]:
    low, high, item = av
    once = _sequence(item)
    if low == 0 and high == 1:
        return [*_EMPTY, *once]
    # Whatever a second repetition adds is not followed.
    opened = [(text, False) for text, _ in once]
    return [*_EMPTY, *opened] if low == 0 else opened


def _element(op: object, av: object) -> list[Variant]:
    """The variants one syntax-tree node can start with."""
    if op is sre.LITERAL:
        return [(chr(av), True)]  # type: ignore[arg-type]
    if op is sre.IN:
        return _class_chars(av)  # type: ignore[arg-type]
    if op is sre.AT:
        return _EMPTY  # zero width: \b inside a phrase
    if op is sre.BRANCH:
        return [v for branch in av[1] for v in _sequence(branch)]  # type: ignore[index]
    if op is sre.SUBPATTERN:
        _group, add_flags, _del_flags, item = av  # type: ignore[misc]
        return _UNKNOWN if add_flags else _sequence(item)
    if op in (sre.MAX_REPEAT, sre.MIN_REPEAT):
        return _repeat(av)  # type: ignore[arg-type]
    return _UNKNOWN


def _sequence(items: object) -> list[Variant]:
    """The variants a run of nodes can start with, up to ``DEPTH`` characters."""
    done: set[str] = set()
    open_: list[str] = [""]
    for op, av in items:  # type: ignore[attr-defined]
        grown: list[str] = []
        for head in open_:
            for text, exact in _element(op, av):
                joined = head + text
                if exact and len(joined) < DEPTH:
                    grown.append(joined)
                else:
                    done.add(joined[:DEPTH])
        open_ = list(dict.fromkeys(grown))
        if not open_ or len(open_) + len(done) > _MAX_VARIANTS:
            done.update(open_)
            return [(text, False) for text in done]
    return [*((text, False) for text in done), *((text, True) for text in open_)]


class Starts:
    """The possible first characters of a ``\\b(?:...)`` pattern's matches."""

    def __init__(self, pattern: re.Pattern[str]) -> None:
        prefixes = self._analyse(pattern)
        self.is_known = prefixes is not None
        # Phrases shorter than DEPTH are compared as prefixes of the slices.
        self.full = frozenset(p for p in prefixes or () if len(p) == DEPTH)
        self.short = tuple(p for p in prefixes or () if len(p) < DEPTH)
        # Every match starts with one of these (empty when not known).
        self.first_chars = frozenset(p[0] for p in prefixes or ())

    @staticmethod
    def _analyse(pattern: re.Pattern[str]) -> frozenset[str] | None:
        if sre_parse is None or pattern.flags & re.IGNORECASE:
            return None
        try:
            tree = list(sre_parse.parse(pattern.pattern, pattern.flags))
        except (re.error, TypeError, ValueError):  # pragma: no cover
            return None
        if not tree or tree[0] != (sre.AT, sre.AT_BOUNDARY):
            return None
        prefixes = {text for text, _ in _sequence(tree[1:])}
        # An empty prefix means a phrase could start with anything; one that
        # starts with punctuation could match at the end of a word, which
        # ``word_starts`` does not list.
        if any(not re.match(r"\w", p) for p in prefixes):
            return None
        return frozenset(prefixes)

    def guarded(self, pattern: re.Pattern[str]) -> re.Pattern[str]:
        """``pattern`` (this one's) with a look-ahead for its first
        characters after the ``\\b``: the same matches, found about twice as
        fast, because ``re`` otherwise tries every branch at every word."""
        if not self.is_known or not pattern.pattern.startswith("\\b"):
            return pattern
        chars = "".join(re.escape(ch) for ch in sorted(self.first_chars))
        return re.compile(rf"\b(?=[{chars}]){pattern.pattern[2:]}", pattern.flags)

    def may_match(self, starts: set[str]) -> bool:
        """False only when the pattern cannot match a text with these starts."""
        if not self.is_known or not self.full.isdisjoint(starts):
            return True
        return bool(self.short) and any(s.startswith(self.short) for s in starts)


def word_starts(text: str) -> set[str]:
    """The first ``DEPTH`` characters (fewer at the end) of every word in ``text``."""
    pattern = _WORD_STARTS_ASCII if text.isascii() else _WORD_STARTS
    return set(pattern.findall(text))


def ascii_variant(pattern: re.Pattern[str]) -> re.Pattern[str]:
    """``pattern`` with ASCII classes: the same matches in an ASCII text, where
    ``\\b``, ``\\w``, ``\\d`` and ``\\s`` mean what they mean in Unicode,
    found faster (a table, not a Unicode database lookup, per character)."""
    return re.compile(pattern.pattern, (pattern.flags & ~re.UNICODE) | re.ASCII)


class Phrases:
    """A list of ``\\b``-opened phrase patterns that tells whether any occurs
    in a text whose ``word_starts`` are known.

    When every start of every phrase's matches is known and ``DEPTH`` long,
    each phrase is tried only at the places the text holds one of its starts:
    a match can begin nowhere else, so the answer is the search's, and at
    each place only the phrases that can start there are tried. Otherwise the
    phrases are searched for as one pattern, with the look-ahead guard of
    ``Starts.guarded``.
    """

    __slots__ = ("starts", "guarded", "_by_start", "_ascii_by_start", "_prefixes")

    def __init__(self, phrases: tuple[str, ...]) -> None:
        whole = re.compile(rf"\b(?:{'|'.join(phrases)})")
        self.starts = Starts(whole)
        self.guarded = self.starts.guarded(whole)
        by_start: dict[str, list[str]] = {}
        for phrase in phrases:
            starts = Starts(re.compile(rf"\b(?:{phrase})"))
            if not starts.is_known or starts.short:
                by_start = {}
                break
            for prefix in starts.full:
                by_start.setdefault(prefix, []).append(phrase)
        # The phrases that can start with each prefix, as one pattern: one
        # ``match`` at each place the prefix occurs instead of one per phrase.
        grouped = {k: re.compile(rf"\b(?:{'|'.join(v)})") for k, v in by_start.items()}
        self._by_start = {k: p.match for k, p in grouped.items()}
        self._ascii_by_start = {k: ascii_variant(p).match for k, p in grouped.items()}
        self._prefixes = frozenset(by_start)

    def occurs_in(self, text: str, starts: set[str]) -> bool:
        """Whether a phrase matches somewhere in ``text`` (``starts`` being
        ``word_starts(text)``)."""
        if not self._prefixes:
            return self.guarded.search(text) is not None
        by_start = self._ascii_by_start if text.isascii() else self._by_start
        for prefix in self._prefixes.intersection(starts):
            match = by_start[prefix]
            at = text.find(prefix)
            while at >= 0:
                # ``\b`` and look-behinds see the text before ``at``.
                if match(text, at) is not None:
                    return True
                at = text.find(prefix, at + 1)
        return False
