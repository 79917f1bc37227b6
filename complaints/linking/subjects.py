"""When two reported subjects are the same mailing's.

The copies of one newsletter carry different subjects: tracking numbers and
reference suffixes per copy ("[#48213]", "No. 4711", "Ref: AB-1234", "Order
998877"), the recipient's name or a greeting ("Anna, your offer", "Hi Bob –
your offer"), reply and forward prefixes that mail clients add in their own
language ("Re:", "AW:", "WG:", "TR:", "RV:", "SV:", "Antw:", "Fwd:"), and filter
tags ("[SPAM]"). RFC 2047 encoded words are decoded by the parser before they
get here.

A newsletter re-sent to those who did not open it says so before its subject
("Reminder:", "Erinnerung:", "Rappel :"), and the recipient's systems may cut a
long subject short, often mid-word ("Our autumn sale sta…"): the reminder goes
with the prefixes, and a cut copy matches the subject it is the beginning of.

``subject_key`` removes all of that and returns the words that stay;
``subjects_similar`` compares two keys by their word sets (Jaccard) and, for
short subjects, by their characters, so one differing word in a short subject
does not split a mailing. Measured choice: word-set Jaccard >= 0.6 or a
character ratio >= 0.85 (difflib) keeps the variants above together and keeps
unrelated subjects apart (tests/complaints/linking/test_subjects.py).
"""

from __future__ import annotations

import difflib
import functools
import re
import unicodedata

# Reply / forward prefixes in the languages mail clients localise them to.
_PREFIX_RE = re.compile(
    r"^\s*(?:(?:re|aw|wg|tr|rv|sv|vs|vb|antw|antwort|fwd?|fw|enc|res|odp|pd|r|i"
    r"|rif|doorst|wtr|ynt|ilt|trs|reenv|reenviar|encaminhar|přeposlat|odp)"
    r"(?:\s*\[\d+\]|\s*\(\d+\))?\s*[:：]|\[[^\]]{0,40}\]|\{[^}]{0,20}\}"
    r"|\([^)]{0,12}spam[^)]{0,12}\)"
    r"|\*+\s*spam\s*\*+)\s*",
    re.I,
)
# A re-sent issue's label, wherever a greeting put it ("Anna: Reminder: ...").
_REMINDER_RE = re.compile(
    r"(?:^|(?<=\s))(?:friendly\s+reminder|reminder|last\s+call|in\s+case\s+you\s+missed\s+it"
    r"|resent|re-sent|erinnerung|rappel|dernier\s+rappel|recordatorio|herinnering"
    r"|promemoria|påminnelse|przypomnienie|připomínka)\s*[:：]\s*",
    re.I,
)
# Words that open a personal greeting; the name after them goes too.
_GREETINGS = (
    "hi|hello|hey|dear|hallo|liebe|lieber|sehr geehrte|sehr geehrter|guten tag|"
    "bonjour|salut|cher|chère|hola|estimado|estimada|ciao|gentile|caro|cara|"
    "beste|hej|hei|olá|oi|witaj|dzień dobry"
)
_GREETING_RE = re.compile(
    rf"^\s*(?:{_GREETINGS})\b(?:/\w{{1,2}}|\(\w{{1,2}}\))?[\s,]*(?:[^\W\d_][\w'.\-]*\s*){{0,2}}[,:!–—-]+\s*",
    re.I,
)
# "Anna, ..." / "..., Anna!" : a single capitalised name set off by a comma.
_LEADING_NAME_RE = re.compile(r"^\s*[A-ZÀ-Þ][\w'\-]{1,20}\s*[,:!]\s+(?=\S)")
_TRAILING_NAME_RE = re.compile(r"[,–—-]\s*[A-ZÀ-Þ][\w'\-]{1,20}\s*[!.]?\s*$")
# A reference word and the token after it ("No. 4711", "Ref: AB-12").
_REFERENCE_RE = re.compile(
    r"\b(?:no|nr|n°|nº|num|number|ref|reference|order|ordre|bestellung|pedido"
    r"|ordine|ticket|case|id|invoice|rechnung|facture|factura|fattura|tracking"
    r"|sendung|auftrag|kundennummer|customer)\b\.?\s*[:#]?\s*[\w\-/]*\d[\w\-/]*",
    re.I,
)
_HASH_TOKEN_RE = re.compile(r"#\s*[\w\-]+")
_BRACKETED_RE = re.compile(r"[\[(<{][^\])>}]{0,40}\d[^\])>}]{0,40}[\])>}]")
_WORD_RE = re.compile(r"[^\W_]+", re.UNICODE)
MAX_KEY_LENGTH = 255

JACCARD_THRESHOLD = 0.6
CONTAINED_MIN_WORDS = 2
CHARACTER_THRESHOLD = 0.85
# A cut copy keeps at least this much of the subject it began: two whole words
# and the start of a third, or as many characters; a cut copy that is nothing
# but the beginning (no greeting before it) needs only a word or so.
CUT_MIN_WORDS = 3
CUT_MIN_CHARACTERS = 12
CUT_ALONE_MIN_CHARACTERS = 6
# Two copies with different words around the subject ("{Spam?} Spring sale
# for you" and "Only for Anna: Spring sale for you"): a run of this many words
# in both, covering this share of the shorter one.
SHARED_RUN_MIN_WORDS = 3
SHARED_RUN_MIN_SHARE = 0.6


def strip_prefixes(subject: str | None) -> str:
    """The subject without reply/forward prefixes and filter tags."""
    text = " ".join((subject or "").split())
    while True:
        stripped = _PREFIX_RE.sub("", text, count=1)
        if stripped == text:
            return text
        text = stripped


# Pure functions of their text, called for every report and candidate mailing
# of a batch with the same few subjects: remembered (bounded, per process).
_CACHE_SIZE = 16384


@functools.lru_cache(maxsize=_CACHE_SIZE)
def subject_key(subject: str | None) -> str:
    """The words of a subject that every copy of a mailing shares, lowercased
    and space-separated; empty when nothing is left."""
    text = strip_prefixes(subject)
    text = _GREETING_RE.sub("", text, count=1)
    text = _REMINDER_RE.sub("", text, count=1)
    text = _LEADING_NAME_RE.sub("", text, count=1)
    # Tracking numbers first: a name before one ("..., Greta! Nr. 4711") is
    # only trailing once the number is gone.
    text = _BRACKETED_RE.sub(" ", text)
    text = _REFERENCE_RE.sub(" ", text)
    text = _HASH_TOKEN_RE.sub(" ", text)
    text = _TRAILING_NAME_RE.sub("", text.rstrip(), count=1)
    words = [
        word
        for word in _WORD_RE.findall(unicodedata.normalize("NFKC", text).lower())
        if not any(ch.isdigit() for ch in word)
    ]
    return " ".join(words)[:MAX_KEY_LENGTH]


@functools.lru_cache(maxsize=_CACHE_SIZE)
def subjects_similar(first: str, second: str) -> bool:
    """Whether two subject keys name the same mailing."""
    if first == second:
        return bool(first)
    if not first or not second:
        return False
    words_a, words_b = set(first.split()), set(second.split())
    overlap = len(words_a & words_b) / len(words_a | words_b)
    if overlap >= JACCARD_THRESHOLD:
        return True
    # A greeting or name the normaliser did not know adds words around the
    # shared ones: every word of a subject of two or more words is in the other.
    shorter, longer = sorted((words_a, words_b), key=len)
    if len(shorter) >= CONTAINED_MIN_WORDS and shorter <= longer:
        return True
    if _ends_with_start_of(first, second) or _ends_with_start_of(second, first):
        return True
    if _shares_a_run(first.split(), second.split()):
        return True
    # Short subjects: one changed word weighs too much in the word sets.
    ratio = difflib.SequenceMatcher(None, first, second, autojunk=False).ratio()
    return ratio >= CHARACTER_THRESHOLD


def _ends_with_start_of(cut: str, whole: str) -> bool:
    """Whether ``cut`` ends with the beginning of ``whole``, its last word
    possibly cut short: a copy whose subject was truncated, after whatever
    greeting came before it ("anna our autumn sale sta" and "our autumn sale
    starts now")."""
    if len(cut) >= CUT_ALONE_MIN_CHARACTERS and len(cut) < len(whole):
        if whole.startswith(cut):
            return True
    words = cut.split()
    for start in range(1, len(words)):
        tail = " ".join(words[start:])
        if len(words) - start < CUT_MIN_WORDS and len(tail) < CUT_MIN_CHARACTERS:
            return False
        if len(tail) < len(whole) and whole.startswith(tail):
            return True
    return False


def _shares_a_run(first: list[str], second: list[str]) -> bool:
    """Whether both keys hold the same run of words, long enough to be the
    subject itself and not a phrase two subjects happen to share."""
    shorter = min(len(first), len(second))
    needed = max(SHARED_RUN_MIN_WORDS, SHARED_RUN_MIN_SHARE * shorter)
    if shorter < needed:
        return False
    # Longest common run of words, by dynamic programming (keys are short).
    best, previous = 0, [0] * (len(second) + 1)
    for word in first:
        current = [0] * (len(second) + 1)
        for j, other in enumerate(second, start=1):
            if word == other:
                current[j] = previous[j - 1] + 1
                best = max(best, current[j])
        previous = current
    return best >= needed


def best_match(key: str, variants: list[str]) -> float:
    """How well ``key`` matches any of a mailing's variants (0 to 1)."""
    best = 0.0
    words = set(key.split())
    for variant in variants:
        if variant == key:
            return 1.0 if key else 0.0
        if subjects_similar(key, variant):
            other = set(variant.split())
            best = max(best, len(words & other) / max(len(words | other), 1), 0.5)
    return best
