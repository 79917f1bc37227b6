"""The corrections of mailings through the client: who may, the CSRF check, the
confirmation step, and what the mailing page offers."""

from datetime import timedelta

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.utils import timezone

from accounts.models import Action
from complaints.models import Complaint, Mailing, Strike
from tests.accounts.factories import SubscriberFactory
from tests.complaints.factories import (
    BounceFactory,
    ComplaintFactory,
    MailingFactory,
    StrikeFactory,
)

pytestmark = pytest.mark.django_db

NOW = timezone.now()


def mailing_with(subscriber, complaints=1, bounces=0, **fields):
    mailing = MailingFactory(
        subscriber=subscriber, complaint_count=complaints, **fields
    )
    ComplaintFactory.create_batch(
        complaints, subscriber=subscriber, mailing=mailing, state=Complaint.State.LINKED
    )
    BounceFactory.create_batch(bounces, subscriber=subscriber, mailing=mailing)
    return mailing


def texts(response) -> list[str]:
    """The messages the request added (unread ones of earlier requests come
    first, so tests with several requests compare the last)."""
    return [str(m) for m in get_messages(response.wsgi_request)]


CONFIRMED = {"reason": "one newsletter", "confirm": "on"}


# The mailing page


def test_mailing_page_offers_the_subscribers_other_mailings_newest_first(
    abuse_client, subscriber
):
    page = mailing_with(subscriber)
    week_ago = NOW - timedelta(days=7)
    older = mailing_with(
        subscriber, first_seen=week_ago, last_seen=NOW - timedelta(days=3)
    )
    newer = mailing_with(
        subscriber, first_seen=week_ago, last_seen=NOW - timedelta(hours=1)
    )
    foreign = mailing_with(SubscriberFactory())
    held = mailing_with(subscriber, state=Mailing.State.HELD)

    response = abuse_client.get(page.get_absolute_url())

    html = response.content.decode()
    assert response.status_code == 200
    assert 'id="corrections"' in html
    merge = html[html.index('id="merge-sources"') : html.index("</select>")]
    assert merge.index(f'value="{newer.pk}"') < merge.index(f'value="{older.pk}"')
    assert f'value="{foreign.pk}"' not in merge
    assert f'value="{held.pk}"' not in merge
    assert f'value="{page.pk}"' not in merge


def test_mailing_page_has_a_checkbox_on_every_complaint_and_bounce_row(
    abuse_client, subscriber
):
    mailing = mailing_with(subscriber, complaints=2, bounces=1)

    html = abuse_client.get(mailing.get_absolute_url()).content.decode()

    for complaint in mailing.complaints.all():
        assert f'name="complaint" value="{complaint.pk}" form="mailing-reports"' in html
    bounce = mailing.bounces.get()
    assert f'name="bounce" value="{bounce.pk}" form="mailing-reports"' in html


def test_held_batch_page_offers_no_corrections(abuse_client, subscriber):
    held = mailing_with(subscriber, state=Mailing.State.HELD)

    html = abuse_client.get(held.get_absolute_url()).content.decode()

    assert 'id="corrections"' not in html


# Merge


def test_merge_shows_what_will_happen_first_and_changes_nothing(
    abuse_client, subscriber
):
    target = mailing_with(subscriber, state=Mailing.State.STRUCK)
    StrikeFactory(mailing=target)
    source = mailing_with(subscriber, state=Mailing.State.STRUCK)
    StrikeFactory(mailing=source)

    response = abuse_client.get(
        f"/mailings/{target.pk}/merge/", {"sources": [source.pk]}
    )

    assert response.status_code == 200
    assert "complaints/mailing_correction_confirm.html" in [
        t.name for t in response.templates
    ]
    html = response.content.decode()
    assert f"closed as &quot;merged into #{target.pk}&quot;" in html
    assert f"The live strike of mailing #{source.pk} is revoked as a duplicate" in html
    assert f'<input type="hidden" name="sources" value="{source.pk}">' in html
    assert 'name="csrfmiddlewaretoken"' in html
    assert source.complaints.count() == 1
    assert Strike.objects.filter(revoked_at__isnull=True).count() == 2


def test_merge_with_reason_and_confirmation_merges_and_goes_to_the_target(
    abuse_client, subscriber, abuse_user
):
    target = mailing_with(subscriber)
    source = mailing_with(subscriber, complaints=2)

    response = abuse_client.post(
        f"/mailings/{target.pk}/merge/", {"sources": [source.pk], **CONFIRMED}
    )

    assert response.status_code == 302
    assert response["Location"] == target.get_absolute_url()
    assert texts(response) == [f"Mailing(s) #{source.pk} merged into #{target.pk}."]
    assert target.complaints.count() == 3
    merged = Action.objects.get(kind=Action.Kind.MAILING_MERGED)
    assert merged.actor == abuse_user
    assert merged.reason.endswith("one newsletter")


def test_merge_without_confirmation_shows_the_page_again_and_changes_nothing(
    abuse_client, subscriber
):
    target = mailing_with(subscriber)
    source = mailing_with(subscriber)

    response = abuse_client.post(
        f"/mailings/{target.pk}/merge/",
        {"sources": [source.pk], "reason": "one newsletter"},
    )

    assert response.status_code == 200
    assert "This field is required." in response.content.decode()
    assert source.complaints.count() == 1
    assert not Action.objects.filter(kind=Action.Kind.MAILING_MERGED).exists()


def test_merge_without_a_reason_is_not_done(abuse_client, subscriber):
    target = mailing_with(subscriber)
    source = mailing_with(subscriber)

    response = abuse_client.post(
        f"/mailings/{target.pk}/merge/", {"sources": [source.pk], "confirm": "on"}
    )

    assert response.status_code == 200
    assert source.complaints.count() == 1


def test_merge_of_another_subscribers_mailing_goes_back_with_the_reason(
    abuse_client, subscriber
):
    target = mailing_with(subscriber)
    foreign = mailing_with(SubscriberFactory())

    response = abuse_client.get(
        f"/mailings/{target.pk}/merge/", {"sources": [foreign.pk]}
    )

    assert response.status_code == 302
    assert response["Location"] == target.get_absolute_url()
    assert "belong to different subscribers" in texts(response)[0]


def test_merge_without_a_pick_or_of_an_unknown_mailing_goes_back(
    abuse_client, subscriber
):
    target = mailing_with(subscriber)

    nothing = abuse_client.get(f"/mailings/{target.pk}/merge/")
    unknown = abuse_client.get(f"/mailings/{target.pk}/merge/", {"sources": [999999]})
    garbage = abuse_client.get(f"/mailings/{target.pk}/merge/", {"sources": ["x"]})

    assert texts(nothing)[-1] == "Choose the mailing(s) to merge into this one."
    assert texts(unknown)[-1] == "There is no such mailing."
    assert nothing.status_code == unknown.status_code == garbage.status_code == 302


def test_a_repeated_merge_post_says_there_is_nothing_to_do(abuse_client, subscriber):
    target = mailing_with(subscriber)
    source = mailing_with(subscriber)
    abuse_client.post(
        f"/mailings/{target.pk}/merge/", {"sources": [source.pk], **CONFIRMED}
    )
    actions = Action.objects.count()

    again = abuse_client.post(
        f"/mailings/{target.pk}/merge/", {"sources": [source.pk], **CONFIRMED}
    )

    assert again.status_code == 302
    assert "Nothing to do" in texts(again)[-1]
    assert Action.objects.count() == actions


# Move and split


def test_move_confirms_then_moves_the_ticked_reports(abuse_client, subscriber):
    origin = mailing_with(subscriber, complaints=2, bounces=1)
    target = mailing_with(subscriber)
    complaint = origin.complaints.first()
    bounce = origin.bounces.get()
    picked = {"complaint": [complaint.pk], "bounce": [bounce.pk], "target": target.pk}

    confirm = abuse_client.get(f"/mailings/{origin.pk}/move/", picked)
    done = abuse_client.post(f"/mailings/{origin.pk}/move/", {**picked, **CONFIRMED})

    assert confirm.status_code == 200
    assert complaint.reference in confirm.content.decode()
    assert (
        "1 complaint(s) and 1 bounce(s) move from mailing" in confirm.content.decode()
    )
    assert done.status_code == 302
    assert done["Location"] == target.get_absolute_url()
    assert texts(done) == [f"Reports moved to mailing #{target.pk}."]
    complaint.refresh_from_db()
    assert complaint.mailing_id == target.pk


def test_move_without_a_target_or_a_ticked_report_goes_back(abuse_client, subscriber):
    origin = mailing_with(subscriber, complaints=2)
    complaint = origin.complaints.first()

    no_target = abuse_client.get(
        f"/mailings/{origin.pk}/move/", {"complaint": [complaint.pk]}
    )
    no_report = abuse_client.get(f"/mailings/{origin.pk}/move/", {"target": origin.pk})

    assert texts(no_target)[-1] == "Choose the mailing to move them to."
    assert texts(no_report)[-1] == (
        "Tick the complaints or bounces to move in the tables first."
    )
    assert no_target["Location"] == no_report["Location"] == origin.get_absolute_url()


def test_move_to_another_subscribers_mailing_goes_back_with_the_reason(
    abuse_client, subscriber
):
    origin = mailing_with(subscriber, complaints=2)
    foreign = mailing_with(SubscriberFactory())

    response = abuse_client.get(
        f"/mailings/{origin.pk}/move/",
        {"complaint": [origin.complaints.first().pk], "target": foreign.pk},
    )

    assert response.status_code == 302
    assert "another subscriber" in texts(response)[0]


def test_split_confirms_then_goes_to_the_new_mailing(abuse_client, subscriber):
    origin = mailing_with(subscriber, complaints=3)
    complaint = origin.complaints.first()
    picked = {"complaint": [complaint.pk]}

    confirm = abuse_client.get(f"/mailings/{origin.pk}/split/", picked)
    done = abuse_client.post(f"/mailings/{origin.pk}/split/", {**picked, **CONFIRMED})
    again = abuse_client.post(f"/mailings/{origin.pk}/split/", {**picked, **CONFIRMED})

    assert confirm.status_code == 200
    assert "to a new mailing" in confirm.content.decode()
    complaint.refresh_from_db()
    new = complaint.mailing
    assert new.pk != origin.pk
    assert done["Location"] == new.get_absolute_url()
    assert texts(done) == [
        f"Reports of mailing #{origin.pk} now form mailing #{new.pk}."
    ]
    assert again["Location"] == new.get_absolute_url()
    assert Mailing.objects.filter(subscriber=subscriber).count() == 2


# Who may


@pytest.mark.parametrize("action", ["merge", "move", "split"])
def test_support_reps_may_not_correct_mailings(support_client, subscriber, action):
    mailing = mailing_with(subscriber)
    other = mailing_with(subscriber)
    data = {
        "sources": [other.pk],
        "complaint": [mailing.complaints.first().pk],
        "target": other.pk,
        **CONFIRMED,
    }

    assert (
        support_client.get(f"/mailings/{mailing.pk}/{action}/", data).status_code == 403
    )
    assert (
        support_client.post(f"/mailings/{mailing.pk}/{action}/", data).status_code
        == 403
    )
    assert other.complaints.count() == 1


@pytest.mark.parametrize("action", ["merge", "move", "split"])
def test_anonymous_users_are_sent_to_log_in(client, subscriber, action):
    mailing = mailing_with(subscriber)

    response = client.get(f"/mailings/{mailing.pk}/{action}/")

    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_a_merge_post_without_the_csrf_token_is_refused(abuse_user, subscriber):
    target = mailing_with(subscriber)
    source = mailing_with(subscriber)
    client = Client(enforce_csrf_checks=True)
    client.force_login(abuse_user)

    response = client.post(
        f"/mailings/{target.pk}/merge/", {"sources": [source.pk], **CONFIRMED}
    )

    assert response.status_code == 403
    assert source.complaints.count() == 1


def test_the_confirmation_form_carries_a_working_csrf_token(abuse_user, subscriber):
    target = mailing_with(subscriber)
    source = mailing_with(subscriber)
    client = Client(enforce_csrf_checks=True)
    client.force_login(abuse_user)
    page = client.get(f"/mailings/{target.pk}/merge/", {"sources": [source.pk]})
    token = page.context["csrf_token"]

    response = client.post(
        f"/mailings/{target.pk}/merge/",
        {"sources": [source.pk], "csrfmiddlewaretoken": str(token), **CONFIRMED},
    )

    assert response.status_code == 302
    assert source.complaints.count() == 0


def test_a_merged_mailings_page_points_to_where_it_went(abuse_client, subscriber):
    target = mailing_with(subscriber)
    source = mailing_with(subscriber)
    abuse_client.post(
        f"/mailings/{target.pk}/merge/", {"sources": [source.pk], **CONFIRMED}
    )

    html = abuse_client.get(source.get_absolute_url()).content.decode()

    assert f'This mailing was merged into <a href="/mailings/{target.pk}/">' in html
    assert 'id="merge-sources"' not in html
