"""``POST /ingest/``: mail systems hand over one raw message, authenticated by a
bearer token (RFC 6750).

The view answers 202 only once the message is committed, so a client that sees
anything else keeps the message and tries again. It reads the body through
``request.read()`` with its own limit, ABUSE_INGEST_MAX_BYTES, instead of
``request.body``, whose DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MB) is meant for forms
and is far below the size of a complaint with its attachments.
"""

import logging

from django.conf import settings
from django.db import DatabaseError
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from complaints.exceptions import EmptyMessageError, MessageTooLargeError
from complaints.models import InboundMessage
from complaints.services import inbound_store
from complaints.services.tokens import ingest_token_check

logger = logging.getLogger(__name__)

# Seconds a client should wait before retrying while the database is down.
RETRY_AFTER_SECONDS = 60


def _error(status: int, reason: str, **headers: str) -> JsonResponse:
    response = JsonResponse({"error": reason}, status=status)
    for name, value in headers.items():
        response[name.replace("_", "-")] = value
    return response


def _unauthorized(reason: str, *, invalid: bool) -> JsonResponse:
    # RFC 6750 section 3: no error code when credentials are missing,
    # error="invalid_token" when a token was presented and refused.
    challenge = 'Bearer realm="ingest"'
    if invalid:
        challenge += ', error="invalid_token"'
    return _error(401, reason, WWW_Authenticate=challenge)


def _bearer_token(request: HttpRequest) -> str:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def _content_length(request: HttpRequest) -> int | None:
    """The declared body size; None when the body's size is not declared."""
    declared = request.META.get("CONTENT_LENGTH")
    if not declared:
        # No Content-Length and no Transfer-Encoding: there is no body
        # (RFC 9112 section 6.3).
        return None if "Transfer-Encoding" in request.headers else 0
    try:
        return int(declared)
    except ValueError:
        return None


@csrf_exempt  # a machine client authenticated by its token, not a browser session
@require_POST
def ingest_http(request: HttpRequest) -> JsonResponse:
    """Store the request body as one raw message.

    202 {"id", "sha256", "created"} once committed (``created`` is false for a
    message already stored); 401 without a valid token; 400 empty body; 411
    chunked body without Content-Length; 413 over ABUSE_INGEST_MAX_BYTES; 503
    with Retry-After when the database is unavailable.
    """
    token = _bearer_token(request)
    if not token:
        return _unauthorized(
            "Missing token: send 'Authorization: Bearer <token>'.", invalid=False
        )
    max_bytes = settings.ABUSE_INGEST_MAX_BYTES
    try:
        ingest_token = ingest_token_check(token=token)
        if ingest_token is None:
            return _unauthorized("The token is unknown or inactive.", invalid=True)
        length = _content_length(request)
        if length is None:
            # Django reads nothing from a body without Content-Length (a chunked
            # upload), which would look like an empty message.
            return _error(411, "Send the message with a valid Content-Length header.")
        if length > max_bytes:
            # Refuse before reading: the declared size is already too large.
            return _too_large(length, max_bytes)
        raw = request.read(max_bytes + 1)
        inbound, created = inbound_store(
            raw=raw, channel=InboundMessage.Channel.HTTP, max_bytes=max_bytes
        )
    except EmptyMessageError as error:
        return _error(400, str(error))
    except MessageTooLargeError as error:
        return _too_large(error.size, error.limit)
    except DatabaseError as error:
        logger.warning("ingest over HTTP: database unavailable (%s)", error)
        return _error(
            503,
            "The message could not be stored; try again later.",
            Retry_After=str(RETRY_AFTER_SECONDS),
        )
    logger.info(
        "token %s handed over inbound %s (created=%s)",
        ingest_token.pk,
        inbound.pk,
        created,
    )
    return JsonResponse(
        {"id": inbound.pk, "sha256": inbound.sha256, "created": created}, status=202
    )


def _too_large(size: int, limit: int) -> JsonResponse:
    return _error(413, f"The message is {size} bytes; the limit is {limit} bytes.")
