"""The real bounces shipped with flufl.bounce yield the addresses its tests expect.

tests/fixtures/flufl/expected.json lists, per sample, the failed addresses
(temporary ones for delay warnings): the addresses the sender mailed, so
each recipient's original address when the DSN gives one. Addresses compare
case-insensitively: the parser lowercases them.
"""

import pytest

from complaints.ingest import Kind, classify, fallback

from .conftest import FLUFL, FLUFL_EXPECTED, load_expected

EXPECTED = load_expected(FLUFL_EXPECTED)
# Samples flufl.bounce's tests list as temporary failures (delay warnings).
TEMPORARY = {
    "dsn_05.txt",
    "dsn_06.txt",
    "dsn_07.txt",
    "dsn_08.txt",
    "dsn_17.txt",
    "simple_03.txt",
    "simple_21.txt",
    "simple_22.txt",
    "simple_28.txt",
    "simple_35.txt",
    "simple_40.txt",
}
# Samples where no address can be read, though they are delivery failures.
NO_ADDRESS_BOUNCES = {"bounce_01.txt", "simple_43.txt"}


def _failed(report) -> set[str]:
    """The addresses mailed that did not get the message (an auto-reply's
    replying address got it)."""
    return {r.sent_to for r in report.recipients if r.action != "delivered"}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_sample_yields_the_expected_failed_addresses(name):
    report = classify((FLUFL / name).read_bytes())
    assert report.error is None
    got = _failed(report)
    assert got == {a.lower() for a in EXPECTED[name]}


@pytest.mark.parametrize("name", sorted(n for n, a in EXPECTED.items() if a))
def test_sample_with_failed_addresses_is_a_bounce(name):
    assert classify((FLUFL / name).read_bytes()).kind == Kind.BOUNCE


@pytest.mark.parametrize("name", sorted(TEMPORARY))
def test_delay_warning_sample_has_only_soft_delayed_recipients(name):
    recipients = classify((FLUFL / name).read_bytes()).recipients
    assert recipients
    assert all(not r.is_hard and r.action == "delayed" for r in recipients)


@pytest.mark.parametrize("name", sorted(NO_ADDRESS_BOUNCES))
def test_bounce_without_readable_address_is_still_a_bounce(name):
    report = classify((FLUFL / name).read_bytes())
    assert report.kind == Kind.BOUNCE
    assert report.recipients == ()


@pytest.mark.parametrize("name", ["dumbass_01.txt", "groupwise_03.txt"])
def test_sample_that_names_no_failure_reports_no_recipient(name):
    assert classify((FLUFL / name).read_bytes()).recipients == ()


def test_auto_reply_among_the_samples_is_recognised():
    report = classify((FLUFL / "qmail_08.txt").read_bytes())
    assert report.kind == Kind.AUTO_REPLY


# flufl.bounce's Yale detector knows that site's aliases; no general rule can.
NEEDS_FALLBACK = {"yale_01.txt"}


@pytest.mark.parametrize("name", sorted(set(EXPECTED) - NEEDS_FALLBACK))
def test_sample_is_read_without_the_flufl_fallback(name, monkeypatch):
    monkeypatch.setattr(fallback, "flufl_failures", lambda msg, notice: [])
    got = _failed(classify((FLUFL / name).read_bytes()))
    assert got == {a.lower() for a in EXPECTED[name]}
