"""Fuzzing ``classify`` with mutated real samples: it never raises, and what it
returns is a Report the database accepts once sanitised."""

import pytest
from hypothesis import given

from complaints.ingest import Report, classify
from complaints.ingest.sanitize import report_db_safe
from tests.fuzzing import examples, mutated_samples

pytestmark = pytest.mark.fuzz


@examples(300)
@given(raw=mutated_samples())
def test_classify_never_raises_on_mutated_samples(raw):
    report = classify(raw)
    assert isinstance(report, Report)
    safe = report_db_safe(report)
    assert "\x00" not in repr(safe)
    for recipient in safe.recipients:
        assert isinstance(recipient.address, str)
