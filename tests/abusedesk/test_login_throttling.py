"""Login throttling (django-axes, counted in PostgreSQL): per account and per
client address, on the desk's login page and the admin's, with a readable
lock-out page and an admin way to unlock."""

import pytest
from axes.models import AccessAttempt
from django.contrib.auth.models import User
from django.urls import reverse

from tests.conftest import STAFF_PASSWORD

pytestmark = pytest.mark.django_db

LOGIN = reverse("login")
ADMIN_LOGIN = reverse("admin:login")


def _login(client, username, password, url=LOGIN):
    return client.post(url, {"username": username, "password": password})


def test_thirty_wrong_passwords_then_the_right_one_does_not_log_in(
    client, abuse_user, settings
):
    for _ in range(30):
        _login(client, "abby", "wrong password")
    response = _login(client, "abby", STAFF_PASSWORD)
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session
    page = response.content.decode()
    assert "Too many failed log-ins" in page
    assert 'class="brand"' in page, "the lock-out page is in the desk's layout"
    assert f"Try again in {settings.AXES_COOLOFF_TIME.seconds // 60} minutes" in page


def test_a_few_wrong_passwords_then_the_right_one_logs_in(client, abuse_user):
    for _ in range(3):
        _login(client, "abby", "wrong password")
    response = _login(client, "abby", STAFF_PASSWORD)
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(abuse_user.pk)


def test_one_client_address_trying_many_accounts_is_locked_out(
    client, abuse_user, support_user, settings
):
    for n in range(settings.AXES_FAILURE_LIMIT):
        _login(client, f"guess{n}", "wrong password")
    assert _login(client, "sam", STAFF_PASSWORD).status_code == 429


def test_account_is_locked_whatever_address_the_attempts_come_from(
    client, abuse_user, settings
):
    for n in range(settings.AXES_FAILURE_LIMIT):
        client.post(
            LOGIN,
            {"username": "abby", "password": "wrong"},
            REMOTE_ADDR=f"198.51.100.{n + 1}",
        )
    response = client.post(
        LOGIN, {"username": "abby", "password": STAFF_PASSWORD}, REMOTE_ADDR="192.0.2.9"
    )
    assert response.status_code == 429


def test_the_admin_login_is_throttled_too(client, settings):
    User.objects.create_superuser("root", password=STAFF_PASSWORD)
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _login(client, "root", "wrong", url=ADMIN_LOGIN)
    assert _login(client, "root", STAFF_PASSWORD, url=ADMIN_LOGIN).status_code == 429


def test_an_administrator_unlocks_an_account_in_the_admin(client, abuse_user, settings):
    locked = client.__class__(REMOTE_ADDR="203.0.113.50")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _login(locked, "abby", "wrong")
    assert _login(locked, "abby", STAFF_PASSWORD).status_code == 429

    admin = User.objects.create_superuser("root", password="x")
    client.force_login(admin)
    attempts = list(AccessAttempt.objects.filter(username="abby"))
    changelist = reverse("admin:axes_accessattempt_changelist")
    assert client.get(changelist).status_code == 200
    response = client.post(
        changelist,
        {
            "action": "delete_selected",
            "_selected_action": [a.pk for a in attempts],
            "post": "yes",
        },
    )
    assert response.status_code == 302
    assert not AccessAttempt.objects.filter(username="abby").exists()
    assert _login(locked, "abby", STAFF_PASSWORD).status_code == 302
