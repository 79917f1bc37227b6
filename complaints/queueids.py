"""Postfix queue ids: what one looks like.

Pure (no ORM, no settings), so the outbound app can share it.

A queue id taken from a report (``X-Postfix-Queue-Id``, a Received header) is
evidence written by whoever sent the report; it is never an argument. Only ids
the desk's own outbound records saw may reach a command, and even those are
checked against Postfix's queue-id syntax first, because ``postsuper -d ALL``
empties the whole queue and ``-d -`` reads ids from standard input.

Postfix writes two forms (postconf(5), ``enable_long_queue_ids``):

- short (the default): upper-case hexadecimal, five digits of the time in
  microseconds followed by the inode number, e.g. ``C3CD21F3E90``. The inode
  part has no fixed width; up to 16 digits (a 64-bit inode) are accepted.
- long: a 52-character alphabet of digits and the consonants of both cases
  (no vowels, so no word such as ``ALL`` can ever be one), at least six
  characters of the time in seconds and four of the microseconds, a ``z``, then
  the inode number in the first 51 characters of that alphabet (all but
  ``z``), e.g. ``3Pt2mN2VXxznjll``.

Neither form can start with ``-``, so a valid id is never read as an option.
"""

from __future__ import annotations

import re

_BASE52 = "0-9B-DF-HJ-NP-TV-Zb-df-hj-np-tv-z"
_BASE51 = "0-9B-DF-HJ-NP-TV-Zb-df-hj-np-tv-y"  # the alphabet without its last, 'z'
_SHORT = re.compile(r"[0-9A-F]{6,21}")
_LONG = re.compile(rf"[{_BASE52}]{{10,}}z[{_BASE51}]+")
# Longer than any id a real queue makes; bounds the regular expressions' work.
MAX_LENGTH = 64


def is_postfix_queue_id(value: object) -> bool:
    """Whether ``value`` is a short (hex) or long (base-52) Postfix queue id."""
    if not isinstance(value, str) or not 0 < len(value) <= MAX_LENGTH:
        return False
    return bool(_SHORT.fullmatch(value) or _LONG.fullmatch(value))
