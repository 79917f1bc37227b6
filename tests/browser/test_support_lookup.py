"""A support rep finds a subscriber in Chromium and exports the strike history."""

import re

import pytest
from django.contrib.auth.models import Group, User
from django.utils import timezone
from playwright.sync_api import expect

from accounts.models import Action
from tests.accounts.factories import (
    ActionFactory,
    IPAssignmentFactory,
    MailAccountFactory,
    SubscriberFactory,
)
from tests.complaints.factories import ComplaintFactory, MailingFactory, StrikeFactory
from tests.conftest import STAFF_PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SEARCH_LABEL = "Account number, name, login, address or IP"


@pytest.fixture
def rep(transactional_db) -> User:
    # get_or_create: a transactional test empties the tables the migration filled.
    group, _ = Group.objects.get_or_create(name="support")
    user = User.objects.create_user(username="sam", password=STAFF_PASSWORD)
    user.groups.add(group)
    return user


@pytest.fixture
def suspended(transactional_db):
    now = timezone.now()
    subscriber = SubscriberFactory(
        account_number="B0000042", name="Harbour Bakery", status="suspended"
    )
    MailAccountFactory(subscriber=subscriber, login="abakery", address="ag@isp.example")
    IPAssignmentFactory(subscriber=subscriber, network="192.0.2.0/28")
    for subject in ("Spring sale", "Summer sale", "Autumn sale"):
        mailing = MailingFactory(subscriber=subscriber, subject=subject)
        StrikeFactory(mailing=mailing)
    ComplaintFactory(
        subscriber=subscriber,
        mailing=mailing,
        complainant_email="whistle@complainer.example",
    )
    ActionFactory(
        subscriber=subscriber,
        kind=Action.Kind.SUSPENSION,
        reason="Strike 3 of 3: the limit is reached, so sending is suspended.",
        notice_template="suspension",
        notified_at=now,
    )
    return subscriber


def _search(page, live_server, query: str) -> None:
    page.goto(f"{live_server.url}/subscribers/")
    page.get_by_label(SEARCH_LABEL, exact=True).fill(query)
    page.keyboard.press("Enter")


def test_rep_finds_the_subscriber_by_ip_and_login_and_exports_the_history(
    page, live_server, screenshot, login, rep, suspended
):
    login(rep)
    page.goto(f"{live_server.url}/subscribers/")
    screenshot("support_search")

    _search(page, live_server, "192.0.2.9")
    expect(page).to_have_url(re.compile(rf"/subscribers/{suspended.pk}/$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Harbour Bakery")
    expect(page.locator("main")).to_contain_text("Suspension notice")
    expect(page.locator("main")).not_to_contain_text("whistle")
    screenshot("support_subscriber_detail")

    _search(page, live_server, "abakery")
    expect(page).to_have_url(re.compile(rf"/subscribers/{suspended.pk}/$"))

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download strike history (CSV)").click()
    download = download_info.value
    assert download.suggested_filename == "strike-history-B0000042.csv"
    content = open(download.path(), encoding="utf-8").read()
    assert content.startswith("date,event,mailing_date,subject,reason,detail")
    for subject in ("Spring sale", "Summer sale", "Autumn sale"):
        assert subject in content
    assert "Notice: Suspension notice" in content
    assert "whistle" not in content

    page.get_by_role("link", name="Printable strike history").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Strike history of account B0000042"
    )
    screenshot("support_history_print")


def test_rep_sees_a_list_when_several_subscribers_match(
    page, live_server, screenshot, login, rep, suspended
):
    SubscriberFactory(name="Harbour Other")
    login(rep)
    _search(page, live_server, "harbour")
    expect(page.get_by_role("table")).to_contain_text("Harbour Other")
    screenshot("support_search_results")
