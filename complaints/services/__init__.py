"""Writes about complaints, mailings, bounces and strikes, split by sub-domain:

- ``ingest``: storing inbound mail and turning it into complaints and bounces;
- ``wakeup``, ``drain``: waking a worker after a commit, and its batch loop;
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
from complaints.services.drain import DrainResult, inbound_drain
from complaints.services.inbound_review import (
    inbound_discard,
    inbound_outcome,
    inbound_reprocess,
    inbound_requeue,
)
from complaints.services.ingest import (
    inbound_process,
    inbound_process_many,
    inbound_process_next,
    inbound_store,
    inbound_store_many,
    inbound_sweep,
)
from complaints.services.strikes import (
    mailing_dismiss,
    mailing_mark_compromised,
    mailing_policy_apply,
    strike_issue,
    strike_revoke,
)
from complaints.services.wakeup import inbound_wake

__all__ = [
    "inbound_discard",
    "DrainResult",
    "inbound_drain",
    "inbound_outcome",
    "inbound_process",
    "inbound_process_many",
    "inbound_process_next",
    "inbound_reprocess",
    "inbound_requeue",
    "inbound_store",
    "inbound_store_many",
    "inbound_sweep",
    "inbound_wake",
    "mailing_dismiss",
    "mailing_mark_compromised",
    "mailing_merge",
    "mailing_policy_apply",
    "mailing_split",
    "reports_move",
    "strike_issue",
    "strike_revoke",
]
