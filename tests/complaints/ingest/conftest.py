"""Shared helpers for the ingest tests: fixture paths and loaders."""

import json
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


def load_expected(directory: Path) -> dict:
    return json.loads((directory / "expected.json").read_text(encoding="utf-8"))


@pytest.fixture
def email_bytes():
    """Return a loader for a fixture email by file name."""

    def load(name: str) -> bytes:
        return (EMAILS / name).read_bytes()

    return load
