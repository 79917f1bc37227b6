"""Timing the ingest steps: the wrappers count every call and are removed after."""

import pytest

from complaints.bench import phases
from complaints.services import ingest, recording


# batch_link reads the ISP's network (its mail domains) from the database.
@pytest.mark.django_db
def test_steps_are_timed_inside_the_block_and_restored_after():
    original = recording.batch_link
    with phases.timed() as timings:
        assert recording.batch_link is not original
        recording.batch_link([])
    assert recording.batch_link is original
    assert ingest.classify.__name__ == "classify"
    assert timings.wall["link"] > 0
    rows = {name: (cpu, wall) for name, cpu, wall in timings.per_message(1)}
    assert rows["link"][1] == timings.wall["link"] * 1e6
    assert rows["linking+recording"][1] >= rows["link"][1]
