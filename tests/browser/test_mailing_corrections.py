"""Abuse staff merge two mailings of one subscriber from the mailing page in
Chromium: pick the other mailing, read what happens to its strike, confirm."""

import pytest

from accounts.models import Action
from complaints.models import Complaint, Mailing, Strike
from tests.accounts.factories import SubscriberFactory
from tests.complaints.factories import (
    BounceFactory,
    ComplaintFactory,
    MailingFactory,
    StrikeFactory,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_staff_merge_two_mailings_from_the_mailing_page(
    page, live_server, login, abuse_user, screenshot
):
    subscriber = SubscriberFactory(account_number="A7100", name="Newsletter Shop")
    target = MailingFactory(
        subscriber=subscriber,
        subject="Autumn sale",
        complaint_count=1,
        state=Mailing.State.STRUCK,
    )
    StrikeFactory(mailing=target)
    source = MailingFactory(
        subscriber=subscriber,
        subject="Re: Autumn sale [ref 4411]",
        complaint_count=2,
        hard_bounce_count=1,
        state=Mailing.State.STRUCK,
    )
    StrikeFactory(mailing=source)
    ComplaintFactory(subscriber=subscriber, mailing=target, state="linked")
    ComplaintFactory.create_batch(
        2, subscriber=subscriber, mailing=source, state="linked"
    )
    BounceFactory(subscriber=subscriber, mailing=source)

    login(abuse_user)
    page.goto(f"{live_server.url}/mailings/{target.pk}/")
    corrections = page.locator("#corrections")
    corrections.get_by_label("Merge another mailing into this one").select_option(
        str(source.pk)
    )
    screenshot("mailing_corrections")
    corrections.get_by_role("button", name=f"Merge into #{target.pk}").click()

    page.wait_for_url(f"**/mailings/{target.pk}/merge/?sources={source.pk}")
    plan = page.locator("#correction-plan")
    assert plan.get_by_text(
        f"The live strike of mailing #{source.pk} is revoked as a duplicate"
    ).is_visible()
    screenshot("mailing_merge_confirm")
    page.get_by_label("Reason").fill("One newsletter, reference numbers per copy")
    page.get_by_label("I have checked the evidence and confirm").check()
    page.get_by_role("button", name="Merge", exact=True).click()

    page.wait_for_url(f"**/mailings/{target.pk}/")
    assert page.get_by_text(
        f"Mailing(s) #{source.pk} merged into #{target.pk}."
    ).is_visible()
    assert page.locator("#live-strikes").inner_text().startswith("1 of 3")
    assert page.get_by_text("Mailings merged by abby").is_visible()
    screenshot("mailing_merged")

    assert Complaint.objects.filter(mailing=target).count() == 3
    target.refresh_from_db()
    assert (target.complaint_count, target.hard_bounce_count) == (3, 1)
    source.refresh_from_db()
    assert source.state == Mailing.State.DISMISSED
    assert Strike.objects.get(mailing=source).revoked_at is not None
    assert Action.objects.filter(kind=Action.Kind.MAILING_MERGED).count() == 1
