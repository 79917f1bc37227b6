"""axe-core over every page of the desk, in Chromium: no violation rated serious
or critical.

axe-core comes from npm (``make axe`` installs the pinned version under .axe/).
It is injected as a script, so these pages are opened with the Content Security
Policy bypassed: the check reads the page, it does not change what it serves.
"""

import json
import os
from pathlib import Path

import pytest
from django.conf import settings

from complaints.models import InboundMessage, Mailing
from tests.accounts.factories import ActionFactory, SubscriberFactory
from tests.complaints.factories import (
    BounceFactory,
    ComplaintFactory,
    InboundMessageFactory,
    MailingFactory,
    StrikeFactory,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

AXE = Path(settings.BASE_DIR) / ".axe" / "node_modules" / "axe-core" / "axe.min.js"
BLOCKING = {"serious", "critical"}


@pytest.fixture
def axe_page(browser):
    if not AXE.exists():
        message = f"axe-core is not installed at {AXE} (make axe)"
        if os.environ.get("ABUSE_REQUIRE_BROWSER"):
            pytest.fail(message)
        pytest.skip(message)
    context = browser.new_context(
        viewport={"width": 1280, "height": 900}, bypass_csp=True
    )
    context.set_default_timeout(10_000)
    page = context.new_page()
    yield page
    context.close()


def _violations(page, url: str) -> list[str]:
    page.goto(url)
    page.wait_for_load_state()
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("async () => await axe.run(document)")
    return [
        f"{url}: {v['id']} ({v['impact']}): {v['help']} "
        f"{json.dumps([n['target'] for n in v['nodes']][:3])}"
        for v in result["violations"]
        if v["impact"] in BLOCKING
    ]


def _log_in(page, live_server, user) -> None:
    from tests.conftest import STAFF_PASSWORD

    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Username").fill(user.get_username())
    page.get_by_label("Password").fill(STAFF_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_load_state()


def test_public_pages_have_no_serious_violations(axe_page, live_server):
    found = []
    for path in ["/login/", "/report/", "/report/status/", "/no/such/page/"]:
        found += _violations(axe_page, f"{live_server.url}{path}")
    assert found == []


def test_abuse_staff_pages_have_no_serious_violations(
    axe_page, live_server, abuse_user
):
    subscriber = SubscriberFactory(account_number="A9009", name="Corner Shop")
    mailing = MailingFactory(
        subscriber=subscriber, complaint_count=2, hard_bounce_count=1
    )
    held = MailingFactory(
        state=Mailing.State.HELD, held_recipients=["a@example.com", "nope"]
    )
    StrikeFactory(mailing=mailing)
    complaint = ComplaintFactory(
        subscriber=subscriber, mailing=mailing, inbound=InboundMessageFactory()
    )
    BounceFactory(mailing=mailing, subscriber=subscriber)
    ActionFactory(subscriber=subscriber, mailing=mailing)
    failed = InboundMessageFactory(state=InboundMessage.State.FAILED, error="boom")
    _log_in(axe_page, live_server, abuse_user)
    paths = [
        "/dashboard/",
        "/complaints/",
        f"/complaints/{complaint.pk}/",
        "/mailings/",
        f"/mailings/{mailing.pk}/",
        f"/mailings/{held.pk}/",
        "/inbound/failed/",
        "/inbound/ignored/",
        f"/inbound/{failed.pk}/",
        "/subscribers/",
        "/subscribers/?q=A9009",
        f"/subscribers/{subscriber.pk}/",
        f"/subscribers/{subscriber.pk}/history/print/",
        f"/subscribers/{subscriber.pk}/status/suspend/",
        "/mail/",
        "/mail/accounts.email.warning/",
    ]
    found = []
    for path in paths:
        found += _violations(axe_page, f"{live_server.url}{path}")
    assert found == []


def test_the_report_form_with_its_errors_has_no_serious_violations(
    axe_page, live_server
):
    axe_page.goto(f"{live_server.url}/report/")
    axe_page.get_by_label("Paste the message's full headers").fill("not mail")
    axe_page.get_by_role("button", name="Send report").click()
    axe_page.wait_for_load_state()
    axe_page.add_script_tag(path=str(AXE))
    result = axe_page.evaluate("async () => await axe.run(document)")
    assert [v["id"] for v in result["violations"] if v["impact"] in BLOCKING] == []


def test_support_pages_and_the_forbidden_page_have_no_serious_violations(
    axe_page, live_server, support_user
):
    subscriber = SubscriberFactory()
    _log_in(axe_page, live_server, support_user)
    found = []
    for path in ["/subscribers/", f"/subscribers/{subscriber.pk}/", "/dashboard/"]:
        found += _violations(axe_page, f"{live_server.url}{path}")
    assert found == []
