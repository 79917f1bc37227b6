"""The Content-Security-Policy header, and templates that need nothing inline."""

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse

pytestmark = pytest.mark.django_db

TEMPLATES = Path(settings.BASE_DIR) / "templates"


@pytest.mark.parametrize(
    "path",
    [reverse("complaints:report_form"), reverse("login"), reverse("admin:login")],
)
def test_every_page_carries_a_policy_without_inline_script(client, path):
    policy = client.get(path)["Content-Security-Policy"]
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert directives["object-src"] == "'none'"
    assert "unsafe-inline" not in policy


def test_desk_pages_carry_the_policy(abuse_client):
    response = abuse_client.get(reverse("complaints:dashboard"))
    assert "script-src 'self'" in response["Content-Security-Policy"]


def test_no_template_has_inline_script_style_or_event_handlers():
    offending = []
    for path in TEMPLATES.rglob("*.html"):
        text = path.read_text()
        for pattern in (
            r"<script(?![^>]*\bsrc=)[^>]*>",
            r"<style\b",
            r"\sstyle=",
            r"\son[a-z]+=",
        ):
            offending += [f"{path.name}: {m}" for m in re.findall(pattern, text)]
    assert offending == []
