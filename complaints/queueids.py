"""What a Postfix queue id looks like (pure). Only ids that pass this, and that
the desk saw itself, are ever given to a queue command."""

import re

# Short ids are 6+ upper-case hex digits; long ids (enable_long_queue_ids) are
# letters and digits from Postfix's own alphabet. Neither has anything a command
# line could mistake for an option or a path.
_QUEUE_ID = re.compile(r"(?:[0-9A-F]{6,16}|[0-9A-Za-z]{10,20})")


def is_postfix_queue_id(value: str | None) -> bool:
    return bool(value) and _QUEUE_ID.fullmatch(value) is not None
