"""Bearer tokens that let mail systems POST raw messages to /ingest/.

Only the SHA-256 of a token is stored, so a database dump does not reveal a
working token; the token itself is returned once, by ``ingest_token_create``.
"""

import hashlib
import hmac
import logging
import secrets
from datetime import datetime

from django.utils import timezone

from complaints.models import IngestToken

logger = logging.getLogger(__name__)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def ingest_token_create(*, name: str) -> tuple[IngestToken, str]:
    """Create an active token called ``name``; return the row and the token.

    The token is 256 random bits (URL-safe text). The caller shows it once; it
    cannot be recovered later, only replaced by a new one.
    """
    token = secrets.token_urlsafe(32)
    row = IngestToken.objects.create(name=name, token_sha256=_digest(token))
    logger.info("created ingest token %s", row.pk)
    return row, token


def ingest_token_check(
    *, token: str, now: datetime | None = None
) -> IngestToken | None:
    """Return the active token row matching ``token``, or None.

    The lookup is by the token's SHA-256, so the database compares hashes, never
    the secret itself: timing can reveal at most a prefix of a hash, which does
    not help to guess the token. A match records ``last_used_at`` (one UPDATE,
    harmless to repeat).
    """
    if not token:
        return None
    digest = _digest(token)
    row = IngestToken.objects.filter(token_sha256=digest, is_active=True).first()
    if row is None or not hmac.compare_digest(row.token_sha256, digest):
        return None
    row.last_used_at = now or timezone.now()
    row.save(update_fields=["last_used_at"])
    return row
