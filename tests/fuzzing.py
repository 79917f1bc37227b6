"""Hypothesis strategies for the fuzz tests: real samples, mutated the ways
hostile or broken mail is (bytes flipped, inserted or cut, NULs and controls
in headers, lines repeated, boundaries broken).

``ABUSE_FUZZ_EXAMPLES`` sets the examples per test: small in ``make test``
(well under a minute together), large in ``make fuzz``.
"""

import os
from pathlib import Path

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = sorted((ROOT / "tests" / "fixtures" / "emails").glob("*.eml")) + sorted(
    (ROOT / ".samples" / "flufl").glob("*.txt")
)
SAMPLE_BYTES = [path.read_bytes() for path in SAMPLES]
NASTY = [
    b"\x00",
    b"\r",
    b"\n\n",
    b"\xff\xfe",
    b"\xed\xa0\x80",  # an encoded surrogate
    b"\xe2\x80\xae",  # U+202E, right-to-left override
    b"=?utf\x00-8?q?x?=",
    b"--",
    b"\n--\n",
    b"Content-Type: multipart/mixed; boundary=x\n",
    b'charset="\x00"',
    b"Date: Thu, 26 Nov 99999999999999999999 10:00:00 +0000\n",
    b"X-Postfix-Queue-Id: ALL\n",
]


def examples(default: int) -> settings:
    count = int(os.environ.get("ABUSE_FUZZ_EXAMPLES", default))
    return settings(
        max_examples=count,
        deadline=None,
        database=None,
        suppress_health_check=[
            HealthCheck.function_scoped_fixture,
            HealthCheck.too_slow,
        ],
    )


@st.composite
def mutated_samples(draw) -> bytes:
    raw = bytearray(draw(st.sampled_from(SAMPLE_BYTES)))
    for _ in range(draw(st.integers(1, 6))):
        if not raw:
            raw += b"x"
        at = draw(st.integers(0, len(raw) - 1))
        action = draw(st.sampled_from(["insert", "flip", "cut", "repeat", "nasty"]))
        if action == "insert":
            raw[at:at] = draw(st.binary(min_size=1, max_size=40))
        elif action == "flip":
            raw[at] = draw(st.integers(0, 255))
        elif action == "cut":
            del raw[at : at + draw(st.integers(1, 2000))]
        elif action == "repeat":
            end = raw.find(b"\n", at) + 1 or len(raw)
            raw[at:at] = raw[at:end] * draw(st.integers(2, 50))
        else:
            raw[at:at] = draw(st.sampled_from(NASTY))
    return bytes(raw)
