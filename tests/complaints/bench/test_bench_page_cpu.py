"""bench_page_cpu requests every staff page of bench_pages and reports each
one's CPU per request."""

import re
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from complaints.models import InboundMessage
from tests.complaints.factories import (
    ComplaintFactory,
    InboundMessageFactory,
    MailingFactory,
)

pytestmark = pytest.mark.django_db


def populate():
    mailing = MailingFactory(complaint_count=2)
    for _ in range(2):
        ComplaintFactory(mailing=mailing, subscriber=mailing.subscriber)
    InboundMessageFactory(state=InboundMessage.State.FAILED, error="no report")


def test_every_page_gets_a_cpu_figure(settings):
    settings.SECURE_SSL_REDIRECT = True  # as production: requests come over HTTPS
    populate()
    out = StringIO()
    call_command("bench_page_cpu", "--requests", "2", stdout=out)
    last = out.getvalue().splitlines()[-1]
    figures = dict(pair.split("=") for pair in last.split())
    for page in ("dashboard", "queue_last_page", "mailing_busiest", "failed_queue"):
        assert float(figures[f"{page}_cpu_ms"]) > 0
    assert float(figures["page_cpu_max_ms"]) == max(
        float(value) for key, value in figures.items() if key.endswith("_cpu_ms")
    )


def test_only_measures_the_named_pages():
    populate()
    out = StringIO()
    call_command("bench_page_cpu", "--requests", "1", "--only", "queue", stdout=out)
    assert re.findall(r"(\w+)_cpu_ms=", out.getvalue().splitlines()[-1]) == ["queue"]


def test_refuses_an_empty_database():
    with pytest.raises(CommandError, match="populate_scale"):
        call_command("bench_page_cpu")
