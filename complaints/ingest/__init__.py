"""Pure email ingest: raw bytes in, a frozen ``Report`` out (no ORM, no I/O).

Modules: ``parse`` (bytes to message, decoding), ``classify`` (the decision
order), ``arf`` (complaints), ``dsn`` (RFC 3464), ``nonstandard`` (non-DSN
bounces), ``lastresort`` (recipients only a guess can name), ``status``
(RFC 3463 codes and hardness), ``reasons`` (the wording of each reason
class), ``autoreply`` (RFC 3834), ``original`` (the reported message's
headers), ``prepare`` (cheap rewrites before MIME parsing), ``report`` (the
dataclasses). ``compiled`` decides whether the Cython-compiled copies of
these modules are imported (``COMPILED`` says which are running).
"""

import os

from . import compiled as _compiled

# Before any other module of the package is imported: it decides where from.
COMPILED = _compiled.choose(__path__, os.environ) == "compiled"

from .classify import classify  # noqa: E402
from .report import (  # noqa: E402
    ComplaintSource,
    Kind,
    OriginalMessage,
    Recipient,
    Report,
)

__all__ = [
    "COMPILED",
    "ComplaintSource",
    "Kind",
    "OriginalMessage",
    "Recipient",
    "Report",
    "classify",
]
