"""Shared helpers for the ingest tests: fixture paths and loaders."""

import json
import random
from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
EMAILS = FIXTURES / "emails"
# The expected addresses live here; the samples themselves are fetched from
# PyPI by `make samples` (see tests/fixtures/flufl/README.md).
FLUFL_EXPECTED = FIXTURES / "flufl"
FLUFL = Path(__file__).resolve().parents[3] / ".samples" / "flufl"
if not any(FLUFL.glob("*.txt")):
    raise RuntimeError(
        f"The flufl.bounce samples are missing from {FLUFL}: run `make samples`."
    )
# Mail::DeliveryStatus::BounceParser's corpus (tests/fixtures/bounceparser/README.md).
BOUNCEPARSER = FLUFL.parent / "bounceparser"
if not any(BOUNCEPARSER.glob("*.msg")):
    raise RuntimeError(
        f"The BounceParser samples are missing from {BOUNCEPARSER}: run `make samples`."
    )


def load_expected(directory: Path) -> dict:
    return json.loads((directory / "expected.json").read_text(encoding="utf-8"))


@pytest.fixture
def email_bytes():
    """Return a loader for a fixture email by file name."""

    def load(name: str) -> bytes:
        return (EMAILS / name).read_bytes()

    return load


@pytest.fixture
def probe_texts():
    """Texts to hold a rewritten pattern against the form it replaced: every
    fixture email's text, and short random strings over ``alphabet`` (seeded,
    so a failure repeats), where edge cases are dense."""

    def texts(alphabet: str, count: int = 20000) -> list[str]:
        rng = random.Random(12)
        found = [p.read_bytes().decode("latin-1") for p in sorted(EMAILS.glob("*"))]
        found += [
            "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 30)))
            for _ in range(count)
        ]
        return found

    return texts


def same_matches(old, new, text: str, *, group: int = 0) -> bool:
    """Whether two patterns find the same matches: the span of ``group``
    (0, the whole match, unless the rewrite moved where a match starts but
    not what it captures) and every group's text."""

    def found(pattern):
        return [(m.span(group), m.groups()) for m in pattern.finditer(text)]

    return found(old) == found(new)
