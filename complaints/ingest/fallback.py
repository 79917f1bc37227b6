"""flufl.bounce as the last resort for a bounce whose failed address eluded us.

Only consulted when the notice is a bounce and the own readers found no
address in it. flufl.bounce runs its detectors in order until one answers.
Its two generic detectors (``SimpleMatch``, ``SimpleWarning``) try some sixty
patterns on every line of every part, attached originals included, which
costs more than classifying the message did. They get the notice's own text
(capped) instead: their start markers sit in the notice, and the lines of an
attached original are the original's, never the failure's. The detectors for
particular systems keep the whole message, because some read its MIME
structure.
"""

from __future__ import annotations

from email.message import Message

from . import nonstandard, parse

try:  # Pinned; its detector list is private, so fall back to the public API.
    from flufl.bounce import all_failures
    from flufl.bounce._detectors.simplematch import SimpleMatch
    from flufl.bounce._detectors.simplewarning import SimpleWarning
    from flufl.bounce._scan import _DETECTORS
except ImportError:  # pragma: no cover - depends on the installed version
    _DETECTORS = None
    try:
        from flufl.bounce import all_failures
    except ImportError:
        all_failures = None

# Detectors crash on odd input; a crash means "no answer", not a failure.
_ERRORS = (
    ValueError,
    TypeError,
    AttributeError,
    IndexError,
    KeyError,
    LookupError,
    UnicodeError,
)
# Text handed to the generic detectors: the notice and what follows it
# closely (some formats list the address under "Original message details").
_GENERIC_CHARS = 8000
# Of the notice itself: real ones are a few KB, and the generic detectors try
# every pattern on every line, so a notice padded to the parser's limits
# would cost them a second or more.
_NOTICE_CHARS = 16_000

Addresses = tuple[frozenset[bytes], frozenset[bytes]]


def _flat(notice: nonstandard.Notice) -> Message:
    """A one-part message holding the start of the notice text."""
    flat = Message()
    flat.set_payload(
        notice.text[: min(len(notice.body), _NOTICE_CHARS) + _GENERIC_CHARS]
    )
    return flat


def _run(msg: Message, notice: nonstandard.Notice) -> Addresses:
    if _DETECTORS is None:
        if all_failures is None:  # pragma: no cover
            return frozenset(), frozenset()
        return all_failures(msg)
    flat: Message | None = None
    for detector in _DETECTORS:
        target = msg
        if detector in (SimpleMatch, SimpleWarning):
            if flat is None:
                flat = _flat(notice)
            target = flat
        temporary, permanent = detector().process(target)
        if temporary or permanent:
            return frozenset(temporary), frozenset(permanent)
    return frozenset(), frozenset()


def flufl_failures(
    msg: Message, notice: nonstandard.Notice
) -> list[nonstandard.Failure]:
    """Failed addresses flufl.bounce finds, with the notice's explanation."""
    try:
        temporary, permanent = _run(msg, notice)
    except _ERRORS:
        return []
    failures = []
    for addresses, delayed in ((permanent, False), (temporary, True)):
        # Sorted: the detectors return sets, and reports should be stable.
        for raw in sorted(addresses):
            address = parse.clean_address(raw.decode("ascii", "replace"))
            if address:
                diagnostic = nonstandard.diagnostic_near(notice, address)
                failures.append(nonstandard.Failure(address, diagnostic, delayed))
    return failures
