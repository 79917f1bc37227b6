"""POST /ingest/ and the ingest tokens: stored before 202, refused with a reason."""

import hashlib
import json
import socket

import pytest
from django.db import connection
from django.urls import reverse

from complaints.models import InboundMessage, IngestToken
from complaints.services.tokens import ingest_token_check, ingest_token_create

pytestmark = pytest.mark.django_db

MESSAGE = (
    b"From: victim@example.org\r\nTo: abuse@example.com\r\n"
    b"Subject: Spam from your customer\r\nMessage-ID: <http-1@example.org>\r\n"
    b"\r\nPlease make it stop.\r\n"
)


@pytest.fixture
def token(db) -> str:
    return ingest_token_create(name="mx1")[1]


def post(client, body: bytes, token: str | None = None, **extra):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return client.post(
        reverse("complaints:ingest_http"),
        data=body,
        content_type="message/rfc822",
        headers=headers,
        **extra,
    )


def test_created_token_is_stored_only_as_its_hash():
    row, token = ingest_token_create(name="mx1")
    assert row.token_sha256 == hashlib.sha256(token.encode()).hexdigest()
    assert token not in {row.name, row.token_sha256}
    assert len(token) >= 40


def test_token_check_accepts_active_token_and_records_use():
    row, token = ingest_token_create(name="mx1")
    assert ingest_token_check(token=token) == row
    row.refresh_from_db()
    assert row.last_used_at is not None


def test_token_check_refuses_unknown_inactive_and_empty_tokens():
    row, token = ingest_token_create(name="mx1")
    assert ingest_token_check(token=token + "x") is None
    assert ingest_token_check(token="") is None
    IngestToken.objects.filter(pk=row.pk).update(is_active=False)
    assert ingest_token_check(token=token) is None


def test_post_stores_message_and_answers_202(client, token, ingest_queue):
    response = post(client, MESSAGE, token)
    assert response.status_code == 202
    body = response.json()
    inbound = InboundMessage.objects.get()
    assert body == {"id": inbound.pk, "sha256": inbound.sha256, "created": True}
    assert bytes(inbound.raw) == MESSAGE
    assert inbound.channel == InboundMessage.Channel.HTTP
    assert inbound.sha256 == hashlib.sha256(MESSAGE).hexdigest()


def test_post_wakes_a_drain_job_in_redis_after_commit(
    client, token, ingest_queue, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = post(client, MESSAGE, token)
    assert ingest_queue.count == 1
    job = ingest_queue.jobs[0]
    assert response.status_code == 202
    assert job.func_name == "complaints.jobs.inbound_drain_job"


def test_same_message_twice_is_stored_once(client, token, ingest_queue):
    first = post(client, MESSAGE, token).json()
    second = post(client, MESSAGE, token)
    assert second.status_code == 202
    assert second.json() == {**first, "created": False}
    assert InboundMessage.objects.count() == 1


def test_post_records_token_last_used_at(client, token):
    assert IngestToken.objects.get().last_used_at is None
    post(client, MESSAGE, token)
    assert IngestToken.objects.get().last_used_at is not None


def test_unparseable_body_is_stored_anyway(client, token):
    response = post(client, b"\x00\xff not a message at all \x80", token)
    assert response.status_code == 202
    assert InboundMessage.objects.count() == 1


def test_missing_token_is_401_with_bearer_challenge(client):
    response = post(client, MESSAGE)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="ingest"'
    assert "Missing token" in response.json()["error"]
    assert not InboundMessage.objects.exists()


def test_other_authorization_scheme_is_401(client, token):
    response = post(client, MESSAGE, HTTP_AUTHORIZATION=f"Basic {token}")
    assert response.status_code == 401
    assert "Missing token" in response.json()["error"]


def test_unknown_token_is_401_invalid_token(client, token):
    response = post(client, MESSAGE, "not-" + token)
    assert response.status_code == 401
    assert 'error="invalid_token"' in response["WWW-Authenticate"]
    assert response.json()["error"] == "The token is unknown or inactive."
    assert not InboundMessage.objects.exists()


def test_inactive_token_is_401(client, token):
    IngestToken.objects.update(is_active=False)
    response = post(client, MESSAGE, token)
    assert response.status_code == 401
    assert IngestToken.objects.get().last_used_at is None
    assert not InboundMessage.objects.exists()


def test_message_over_the_limit_is_413(client, token, settings):
    settings.ABUSE_INGEST_MAX_BYTES = len(MESSAGE) - 1
    response = post(client, MESSAGE, token)
    assert response.status_code == 413
    assert str(len(MESSAGE)) in response.json()["error"]
    assert not InboundMessage.objects.exists()


def test_message_at_the_limit_is_accepted(client, token, settings):
    settings.ABUSE_INGEST_MAX_BYTES = len(MESSAGE)
    assert post(client, MESSAGE, token).status_code == 202


def test_message_larger_than_django_form_limit_is_accepted(client, token, settings):
    """request.body's DATA_UPLOAD_MAX_MEMORY_SIZE does not apply to raw messages."""
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    big = MESSAGE + b"x" * 4096 + b"\r\n"
    response = post(client, big, token)
    assert response.status_code == 202
    assert bytes(InboundMessage.objects.get().raw) == big


def test_empty_body_is_400(client, token):
    response = post(client, b"", token)
    assert response.status_code == 400
    assert response.json()["error"] == "The message is empty."


def test_blank_body_is_400(client, token):
    assert post(client, b"\r\n\r\n", token).status_code == 400
    assert not InboundMessage.objects.exists()


def test_chunked_body_without_length_is_411(client, token):
    response = post(client, b"", token, HTTP_TRANSFER_ENCODING="chunked")
    assert response.status_code == 411


def test_get_is_405(client, token):
    url = reverse("complaints:ingest_http")
    response = client.get(url, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 405


def test_csrf_is_not_required(token):
    from django.test import Client

    response = post(Client(enforce_csrf_checks=True), MESSAGE, token)
    assert response.status_code == 202


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.django_db(transaction=True)
def test_database_down_is_503_with_retry_after(client, token):
    """The real database made unreachable: the server is pointed at a closed port."""
    connection.close()
    port = connection.settings_dict["PORT"]
    connection.settings_dict["PORT"] = _closed_port()
    try:
        response = post(client, MESSAGE, token)
    finally:
        connection.close()
        connection.settings_dict["PORT"] = port
    assert response.status_code == 503
    assert response["Retry-After"] == "60"
    assert json.loads(response.content)["error"].startswith("The message could not")
    assert not InboundMessage.objects.exists()
