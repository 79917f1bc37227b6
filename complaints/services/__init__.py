"""Writes about complaints, mailings, bounces and strikes, split by sub-domain:

- ``ingest``: storing inbound mail and turning it into complaints and bounces;
- ``inbound_review``: staff's reprocess and discard of unusable messages;
- ``linking``: finding the subscriber and mailing a report is about;
- ``strikes``: the three-strikes workflow (strikes, compromise, dismissal);
- ``corrections``: staff merging, splitting and moving reports between mailings.
"""

from complaints.services.corrections import (
    mailing_merge,
    mailing_split,
    reports_move,
)
from complaints.services.inbound_review import (
    inbound_discard,
    inbound_outcome,
    inbound_reprocess,
    inbound_requeue,
)
from complaints.services.ingest import (
    inbound_enqueue,
    inbound_process,
    inbound_process_many,
    inbound_store,
    inbound_sweep,
)
from complaints.services.strikes import (
    mailing_dismiss,
    mailing_mark_compromised,
    mailing_policy_apply,
    strike_issue,
    strike_revoke,
)

__all__ = [
    "inbound_discard",
    "inbound_enqueue",
    "inbound_outcome",
    "inbound_process",
    "inbound_process_many",
    "inbound_reprocess",
    "inbound_requeue",
    "inbound_store",
    "inbound_sweep",
    "mailing_dismiss",
    "mailing_mark_compromised",
    "mailing_merge",
    "mailing_policy_apply",
    "mailing_split",
    "reports_move",
    "strike_issue",
    "strike_revoke",
]
