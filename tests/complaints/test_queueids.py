"""What may be given to a queue command as a Postfix queue id."""

import pytest

from complaints.queueids import is_postfix_queue_id


@pytest.mark.parametrize("value", ["9F00AB12C", "4QXYZ1abcD", "3F1A2B"])
def test_postfix_queue_ids(value):
    assert is_postfix_queue_id(value)


@pytest.mark.parametrize(
    "value", ["", None, "-d", "ALL", "abc", "4QX YZ1abcD", "../etc", "A" * 30]
)
def test_anything_else_is_not_one(value):
    assert not is_postfix_queue_id(value)
