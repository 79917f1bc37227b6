"""Pure email ingest: raw bytes in, a frozen ``Report`` out (no ORM, no I/O).

Modules: ``parse`` (bytes to message, decoding), ``classify`` (the decision
order), ``arf`` (complaints), ``dsn`` (RFC 3464), ``nonstandard`` (non-DSN
bounces), ``lastresort`` (recipients only a guess can name), ``status``
(RFC 3463 codes and hardness), ``reasons`` (the wording of each reason
class), ``autoreply`` (RFC 3834), ``original`` (the reported message's
headers), ``prepare`` (cheap rewrites before MIME parsing), ``report`` (the
dataclasses).
"""

from .classify import classify
from .report import ComplaintSource, Kind, OriginalMessage, Recipient, Report

__all__ = [
    "ComplaintSource",
    "Kind",
    "OriginalMessage",
    "Recipient",
    "Report",
    "classify",
]
