"""Truncated and garbled versions of every fixture never break ``classify``."""

import random

import pytest

from complaints.ingest import Report, classify

from .conftest import EMAILS, FLUFL

SAMPLES = sorted(
    [*EMAILS.glob("*.eml"), *FLUFL.glob("*.txt")], key=lambda p: (p.parent.name, p.name)
)


def _variants(raw: bytes, seed: str) -> list[bytes]:
    rng = random.Random(seed)
    variants = [raw[: len(raw) // 3], raw[: len(raw) // 2], raw[len(raw) // 2 :]]
    garbled = bytearray(raw)
    for _ in range(max(1, len(raw) // 50)):
        if garbled:
            garbled[rng.randrange(len(garbled))] = rng.randrange(256)
    variants.append(bytes(garbled))
    variants.append(raw.replace(b"\n", b"\r"))
    variants.append(raw.replace(b"boundary=", b"boundary-broken="))
    variants.append(raw.replace(b"Content-Type:", b"Content-Type: ; ;"))
    return variants


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.name)
def test_truncated_or_garbled_sample_is_classified_without_error(path):
    for variant in _variants(path.read_bytes(), path.name):
        report = classify(variant)
        assert isinstance(report, Report)
        assert report.error is None


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"\x00\xff" * 1000,
        b"Content-Type: multipart/report; boundary=\n\n--\n--\n",
        b"Content-Type: message/rfc822\n\n",
        b"Subject: " + b"=?utf-8?b?" * 500 + b"\n\n",
        b"From: <" + b"a" * 100000 + b"@example.org>\n\n",
    ],
)
def test_pathological_input_is_classified_without_error(raw):
    assert classify(raw).error is None
