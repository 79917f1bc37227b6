"""Every URL the desk serves is walked: anonymous users are sent to log in (public
pages excepted), and support reps are refused everything that changes state."""

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.converters import IntConverter, PathConverter, StringConverter

pytestmark = pytest.mark.django_db

# Pages anyone may use without an account.
PUBLIC = {
    "login",
    "logout",
    "healthz",
    "complaints:report_form",
    "complaints:report_done",
    "complaints:report_status",
    "complaints:ingest_http",
}
# The only state a support rep may change: a note on the timeline.
SUPPORT_MAY_POST = {"accounts:subscriber_note_add", "logout", "login"}
# The Django admin and the RQ dashboard have their own login (is_staff); they are
# checked separately below.
OWN_AUTH_NAMESPACES = ("admin",)
SAMPLE_BY_CONVERTER = {IntConverter: "1", StringConverter: "x", PathConverter: "x"}


def _walk(patterns, prefix="", namespace=""):
    for entry in patterns:
        if isinstance(entry, URLResolver):
            ns = entry.namespace or namespace
            if ns in OWN_AUTH_NAMESPACES or "django_rq" in str(entry.urlconf_name):
                continue
            yield from _walk(entry.url_patterns, prefix + str(entry.pattern), ns)
        elif isinstance(entry, URLPattern) and entry.name:
            name = f"{namespace}:{entry.name}" if namespace else entry.name
            yield name, _sample_path(prefix + str(entry.pattern), entry)


def _sample_path(route: str, entry: URLPattern) -> str:
    path = "/" + route
    for key, converter in entry.pattern.converters.items():
        sample = SAMPLE_BY_CONVERTER.get(type(converter), "1")
        path = path.replace(f"<{_converter_name(converter)}:{key}>", sample).replace(
            f"<{key}>", sample
        )
    return path


def _converter_name(converter) -> str:
    return {IntConverter: "int", StringConverter: "str", PathConverter: "path"}.get(
        type(converter), "str"
    )


ROUTES = sorted(_walk(get_resolver().url_patterns))


def test_walk_finds_the_desk_pages():
    names = {name for name, _ in ROUTES}
    assert {"home", "complaints:dashboard", "accounts:subscriber_detail"} <= names


@pytest.mark.parametrize(("name", "path"), [r for r in ROUTES if r[0] not in PUBLIC])
def test_anonymous_users_are_sent_to_log_in(client, name, path):
    response = client.get(path)
    if response.status_code == 405:  # a POST-only URL: its POST must redirect
        response = client.post(path)
    assert response.status_code == 302, (name, response.status_code)
    assert response["Location"].startswith("/login/"), name


@pytest.mark.parametrize(
    ("name", "path"), [r for r in ROUTES if r[0] not in PUBLIC | SUPPORT_MAY_POST]
)
def test_support_users_cannot_change_state(support_client, name, path):
    response = support_client.post(path, {"reason": "x", "confirm": "1"})
    assert response.status_code in (403, 405), (name, response.status_code)


def test_support_users_cannot_use_the_admin_or_rq_dashboard(support_client):
    for path in ("/admin/", "/admin/rq/"):
        response = support_client.get(path)
        assert response.status_code == 302
        assert "/admin/login/" in response["Location"]


def test_abuse_staff_see_the_dashboard(abuse_client):
    assert abuse_client.get("/dashboard/").status_code == 200


def test_support_users_cannot_see_abuse_pages(support_client):
    assert support_client.get("/dashboard/").status_code == 403
    assert support_client.get("/complaints/").status_code == 403


@pytest.mark.parametrize(
    ("name", "path"),
    [r for r in ROUTES if r[0] not in {"complaints:ingest_http", "healthz"}],
)
def test_every_post_without_a_csrf_token_is_refused(abuse_user, name, path):
    """The token-authenticated /ingest/ endpoint is the one POST without CSRF: mail
    systems, not browsers, call it."""
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(abuse_user)
    response = client.post(path, {"reason": "x", "confirm": "1"})
    assert response.status_code in (403, 405), (name, response.status_code)
    if response.status_code == 403:
        assert b"CSRF" in response.content, name
