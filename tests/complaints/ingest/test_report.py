"""complaints.ingest.report: an original's fingerprint is worked out when read."""

import dataclasses
import pickle

from complaints.ingest import classify
from complaints.ingest.report import Later, OriginalMessage

COMPLAINT = (
    b"From: fbl@feedback.example\r\nTo: abuse@isp.example\r\nSubject: FBL\r\n"
    b"MIME-Version: 1.0\r\n"
    b'Content-Type: multipart/report; report-type=feedback-report; boundary="b"\r\n'
    b"\r\n--b\r\nContent-Type: text/plain\r\n\r\nA complaint.\r\n"
    b"--b\r\nContent-Type: message/feedback-report\r\n\r\n"
    b"Feedback-Type: abuse\r\nUser-Agent: x/1\r\nVersion: 1\r\n"
    b"Source-IP: 198.51.100.7\r\n"
    b"--b\r\nContent-Type: message/rfc822\r\n\r\n"
    b"From: shop@sender.example\r\nTo: user@feedback.example\r\n"
    b"Subject: Deals\r\nMessage-ID: <m1@sender.example>\r\n\r\nbody\r\n--b--\r\n"
)


def test_the_fingerprint_is_worked_out_once_when_first_read():
    calls = []

    def work():
        calls.append(1)
        return "digest"

    original = OriginalMessage(subject="s", fingerprint=Later(work))
    assert calls == []
    assert original.fingerprint == "digest"
    assert original.fingerprint == "digest"
    assert calls == [1]


def test_a_deferred_fingerprint_compares_copies_and_pickles_as_its_value():
    original = classify(COMPLAINT).original
    assert original is not None
    given = OriginalMessage(
        **{f.name: getattr(original, f.name) for f in dataclasses.fields(original)}
    )
    assert original == given
    assert len(original.fingerprint) == 64
    assert dataclasses.replace(original, date="x").fingerprint == original.fingerprint
    # Pickled here and read back at once: nothing untrusted is read.
    restored = pickle.loads(pickle.dumps(classify(COMPLAINT).original))  # noqa: S301
    assert restored == original
    assert not any(isinstance(v, Later) for v in vars(restored).values())


def test_a_plain_fingerprint_and_the_default_still_work():
    assert OriginalMessage(fingerprint="f").fingerprint == "f"
    assert OriginalMessage().fingerprint is None
    assert OriginalMessage() == OriginalMessage()
