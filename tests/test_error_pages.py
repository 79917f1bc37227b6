"""403, 404 and 500 in the desk's layout: what happened, where to go, no debug
text."""

import pytest
from django.test import Client
from django.urls import path

from abusedesk.urls import urlpatterns as desk_urls

pytestmark = pytest.mark.django_db


def _boom(request):
    raise RuntimeError("secret internals: password=hunter2")


urlpatterns = [*desk_urls, path("boom/", _boom)]


def test_support_reps_forbidden_page_has_the_layout_and_a_way_back(support_client):
    response = support_client.get("/dashboard/")
    text = response.content.decode()
    assert response.status_code == 403
    assert '<nav aria-label="Main">' in text
    assert "This page is not open to you" in text
    assert 'href="/subscribers/"' in text
    assert "Find a subscriber" in text


def test_not_found_page_has_the_layout_and_ways_on(client, settings):
    settings.DEBUG = False
    response = client.get("/no/such/page/")
    text = response.content.decode()
    assert response.status_code == 404
    assert "There is nothing at this address" in text
    assert 'href="/report/"' in text


def test_server_error_page_shows_no_debug_text(settings):
    settings.DEBUG = False
    settings.ROOT_URLCONF = __name__
    client = Client(raise_request_exception=False)
    response = client.get("/boom/")
    text = response.content.decode()
    assert response.status_code == 500
    assert "Something went wrong on our side" in text
    assert "hunter2" not in text
    assert "Traceback" not in text
    assert 'class="brand"' in text
