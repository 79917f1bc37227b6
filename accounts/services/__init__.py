"""Writes to subscribers and their timeline, split by sub-domain:

- ``timeline``: recording Actions and staff notes;
- ``status``: suspend, reinstate, terminate, restrict, password resets, notices;
- ``imports``: keeping subscribers in step with the billing system's CSV.
"""

from accounts.services.imports import subscriber_import
from accounts.services.status import (
    notice_deliver,
    notice_send,
    password_reset_record,
    subscriber_reinstate,
    subscriber_restrict,
    subscriber_suspend,
    subscriber_terminate,
    transitions_allowed,
)
from accounts.services.timeline import action_record, subscriber_note_add

__all__ = ["action_record", "subscriber_import", "subscriber_note_add"]
__all__ += [
    "notice_deliver",
    "notice_send",
    "password_reset_record",
    "subscriber_reinstate",
    "subscriber_restrict",
    "subscriber_suspend",
    "subscriber_terminate",
    "transitions_allowed",
]
