"""The complaint page: the complainant's words among the facts, previous and
next within the queue filter it was opened from, kept after an action."""

from datetime import timedelta
from urllib.parse import quote

import pytest
from django.utils import timezone

from tests.complaints.factories import ComplaintFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def queue():
    """Three web-form complaints, newest first, and one by email."""
    now = timezone.now()
    rows = [
        ComplaintFactory(channel="web_form", received_at=now - timedelta(minutes=n))
        for n in range(3)
    ]
    ComplaintFactory(channel="email", received_at=now)
    return rows


def test_the_complainants_words_are_among_the_facts(abuse_client):
    complaint = ComplaintFactory(complainant_text="Third copy <b>this</b> week")
    text = abuse_client.get(complaint.get_absolute_url()).content.decode()
    assert "In their words" in text
    assert "Third copy &lt;b&gt;this&lt;/b&gt; week" in text


def test_previous_and_next_follow_the_queue_filter(abuse_client, queue):
    newest, middle, oldest = queue
    page = abuse_client.get(f"{middle.get_absolute_url()}?queue=channel%3Dweb_form")
    assert (page.context["previous_id"], page.context["next_id"]) == (
        newest.pk,
        oldest.pk,
    )
    last = abuse_client.get(f"{oldest.get_absolute_url()}?queue=channel%3Dweb_form")
    assert last.context["next_id"] is None
    assert b"Last in the queue" in last.content


def test_the_unfiltered_queue_has_neighbours_too(abuse_client, queue):
    page = abuse_client.get(f"{queue[0].get_absolute_url()}?queue=all")
    assert page.context["previous_id"] is not None


def test_an_action_keeps_the_queue_so_next_is_one_click_away(abuse_client, queue):
    newest, middle, _oldest = queue
    response = abuse_client.post(
        f"/complaints/{newest.pk}/dismiss/", {"queue": "channel=web_form"}
    )
    assert (
        response.url
        == f"{newest.get_absolute_url()}?queue={quote('channel=web_form', safe='')}"
    )
    page = abuse_client.get(response.url)
    assert page.context["next_id"] == middle.pk


def test_queue_links_carry_the_filter(abuse_client, queue):
    page = abuse_client.get("/complaints/?channel=web_form").content.decode()
    assert f'href="{queue[0].get_absolute_url()}?queue=channel%3Dweb_form"' in page


def test_bulk_action_starts_at_choose_an_action(abuse_client):
    page = abuse_client.get("/complaints/").content.decode()
    assert '<option value="" selected>Choose an action…</option>' in page
