"""Postfix queue-id syntax."""

import pytest

from complaints.queueids import (
    is_postfix_queue_id,
)


@pytest.mark.parametrize(
    "value",
    ["C3CD21F3E90", "9F00A1234", "4F0000A1", "3Pt2mN2VXxznjll", "3Ptdbd0p9qz1PFjk"],
)
def test_short_hex_and_long_base52_ids_are_queue_ids(value):
    assert is_postfix_queue_id(value)


@pytest.mark.parametrize(
    "value",
    [
        "ALL",  # postsuper's every-message word
        "all",
        "-",  # postsuper reads ids from stdin
        "-d",
        "--",
        "",
        "c3cd21f3e90",  # short ids are upper case
        "C3CD2",  # too short
        "3Pt2mN2VXxanjll",  # a vowel
        "3Pt2mN2VXxnjll",  # no 'z' after the ten time characters
        "3Pt2mN2VXxz",  # nothing after the 'z'
        "3Pt2mN2VXxznjlz",  # 'z' is not in the inode alphabet
        "C3CD21F3E90 deferred",
        "C3CD21F3E90\n",
        "../C3CD21F3E90",
        "4QX1",
        "A" * 65,
        None,
        123,
    ],
)
def test_anything_else_is_not_a_queue_id(value):
    assert not is_postfix_queue_id(value)
