"""Abuse staff pages through the test client: what they show and what their
buttons do."""

import pytest

from accounts.models import Subscriber
from complaints.models import Complaint, InboundMessage, Mailing, Strike
from tests.complaints.factories import (
    BounceFactory,
    ComplaintFactory,
    InboundMessageFactory,
    MailingFactory,
    StrikeFactory,
)

pytestmark = pytest.mark.django_db

HOSTILE = '<script>alert("x")</script> <b>bold</b> \u202egnp.exe'


def test_dashboard_shows_what_waits(abuse_client):
    ComplaintFactory.create_batch(3)
    InboundMessageFactory(state=InboundMessage.State.FAILED, error="bad")
    MailingFactory(state=Mailing.State.HELD)
    response = abuse_client.get("/dashboard/")
    assert response.status_code == 200
    counts = response.context["counts"]
    assert (
        counts["new_complaints"],
        counts["failed_messages"],
        counts["held_batches"],
    ) == (3, 1, 1)
    assert len(response.context["chart"]["bars"]) == 30
    assert b"<svg" in response.content


def test_dashboard_lists_accounts_one_strike_from_suspension(abuse_client):
    subscriber = StrikeFactory().subscriber
    StrikeFactory(mailing=MailingFactory(subscriber=subscriber))
    response = abuse_client.get("/dashboard/")
    assert list(response.context["at_two_strikes"]) == [subscriber]


def test_queue_filters_by_state_and_text(abuse_client):
    ComplaintFactory(subject="Cheap watches", state=Complaint.State.NEW)
    ComplaintFactory(subject="Cheap pills", state=Complaint.State.DISMISSED)
    ComplaintFactory(subject="Hello", state=Complaint.State.NEW)
    response = abuse_client.get("/complaints/", {"state": "new", "text": "cheap"})
    assert [c.subject for c in response.context["page"]] == ["Cheap watches"]


def test_queue_filters_linked_or_not_and_sorts(abuse_client):
    mailing = MailingFactory()
    ComplaintFactory(reference="B1", mailing=mailing, state=Complaint.State.LINKED)
    ComplaintFactory(reference="A1")
    response = abuse_client.get(
        "/complaints/", {"linked": "false", "order": "reference"}
    )
    assert [c.reference for c in response.context["page"]] == ["A1"]
    response = abuse_client.get("/complaints/", {"order": "-reference"})
    assert [c.reference for c in response.context["page"]] == ["B1", "A1"]


def test_queue_makes_no_query_per_row(abuse_client, django_assert_max_num_queries):
    mailing = MailingFactory()
    ComplaintFactory.create_batch(
        50, mailing=mailing, subscriber=mailing.subscriber, state=Complaint.State.LINKED
    )
    with django_assert_max_num_queries(8):
        response = abuse_client.get("/complaints/")
    assert len(response.context["page"]) == 50


def test_bulk_dismiss_changes_only_the_selected(abuse_client):
    chosen, other = ComplaintFactory(), ComplaintFactory()
    response = abuse_client.post(
        "/complaints/bulk/", {"action": "dismiss", "complaints": [chosen.pk]}
    )
    assert response.status_code == 302
    chosen.refresh_from_db()
    other.refresh_from_db()
    assert (chosen.state, other.state) == (
        Complaint.State.DISMISSED,
        Complaint.State.NEW,
    )


def test_bulk_link_counts_each_complaint_on_the_mailing(abuse_client):
    mailing = MailingFactory()
    complaints = ComplaintFactory.create_batch(3)
    abuse_client.post(
        "/complaints/bulk/",
        {
            "action": "link",
            "mailing": mailing.pk,
            "complaints": [c.pk for c in complaints],
        },
    )
    mailing.refresh_from_db()
    assert mailing.complaint_count == 3
    assert set(mailing.complaints.values_list("state", flat=True)) == {
        Complaint.State.LINKED
    }


def test_complaint_detail_shows_hostile_content_inert(abuse_client):
    raw = f"Subject: {HOSTILE}\r\n\r\n{HOSTILE}\r\n".encode()
    complaint = ComplaintFactory(
        subject=HOSTILE, inbound=InboundMessageFactory(raw=raw)
    )
    response = abuse_client.get(f"/complaints/{complaint.pk}/")
    html = response.content.decode()
    assert "<script>alert" not in html
    assert "&lt;script&gt;" in html
    assert "\u202e" not in html
    assert "&lt;U+202E&gt;" in html


def test_raw_message_downloads_as_eml(abuse_client):
    complaint = ComplaintFactory(
        inbound=InboundMessageFactory(raw=b"Subject: x\r\n\r\nbody")
    )
    response = abuse_client.get(f"/complaints/{complaint.pk}/raw/")
    assert response["Content-Type"] == "message/rfc822"
    assert "attachment" in response["Content-Disposition"]
    assert response.content == b"Subject: x\r\n\r\nbody"


def test_link_and_unlink_a_complaint(abuse_client):
    complaint, mailing = ComplaintFactory(), MailingFactory()
    abuse_client.post(f"/complaints/{complaint.pk}/link/", {"mailing": mailing.pk})
    complaint.refresh_from_db()
    mailing.refresh_from_db()
    assert complaint.mailing == mailing and complaint.subscriber == mailing.subscriber
    assert mailing.complaint_count == 1
    abuse_client.post(f"/complaints/{complaint.pk}/unlink/")
    complaint.refresh_from_db()
    mailing.refresh_from_db()
    assert complaint.mailing is None and complaint.state == Complaint.State.NEW
    assert mailing.complaint_count == 0


def test_link_search_finds_mailings_by_subject(abuse_client):
    complaint = ComplaintFactory()
    wanted = MailingFactory(subject="Spring sale")
    MailingFactory(subject="Autumn news")
    response = abuse_client.get(f"/complaints/{complaint.pk}/", {"mailing_q": "spring"})
    assert list(response.context["candidates"]) == [wanted]


def test_issue_strike_from_the_mailing_page(abuse_client):
    mailing = MailingFactory(complaint_count=1)
    response = abuse_client.post(f"/mailings/{mailing.pk}/strike/", {"confirm": "on"})
    assert response.status_code == 302
    assert Strike.objects.filter(mailing=mailing).exists()
    page = abuse_client.get(f"/mailings/{mailing.pk}/")
    assert page.context["live_strikes"] == 1


def test_strike_needs_the_confirmation(abuse_client):
    mailing = MailingFactory(complaint_count=1)
    abuse_client.post(f"/mailings/{mailing.pk}/strike/", {})
    assert not Strike.objects.exists()


def test_mark_compromised_needs_a_reason_and_restricts(abuse_client):
    mailing = MailingFactory(complaint_count=1)
    abuse_client.post(f"/mailings/{mailing.pk}/compromised/", {"confirm": "on"})
    mailing.refresh_from_db()
    assert mailing.state == Mailing.State.OPEN
    abuse_client.post(
        f"/mailings/{mailing.pk}/compromised/",
        {"confirm": "on", "reason": "Stolen password"},
    )
    mailing.refresh_from_db()
    assert mailing.state == Mailing.State.COMPROMISED
    assert mailing.subscriber.status == Subscriber.Status.RESTRICTED
    assert not Strike.objects.exists()


def test_held_batch_shows_recipients_with_invalid_ones_flagged_and_releases(
    abuse_client,
):
    mailing = MailingFactory(
        state=Mailing.State.HELD,
        source=Mailing.Source.HOLD,
        held_recipients=["good@example.com", "bad@@example"],
    )
    page = abuse_client.get(f"/mailings/{mailing.pk}/")
    flags = [(r.address, r.is_valid) for r in page.context["held_recipients"]]
    assert flags == [("good@example.com", True), ("bad@@example", False)]
    assert b"invalid format" in page.content
    # The batch's one decision path, where the queue commands run as jobs.
    release = f"/outbound/held/{mailing.pk}/release/"
    assert f'action="{release}"'.encode() in page.content
    assert b"/reject/" in page.content
    abuse_client.post(release, {"confirm": "on"})
    mailing.refresh_from_db()
    assert mailing.state == Mailing.State.RELEASED
    assert mailing.subscriber.actions.filter(kind="hold_released").count() == 1


def test_mailing_page_shows_bounce_reasons_and_rate(abuse_client):
    mailing = MailingFactory(recipient_count=100, hard_bounce_count=30)
    BounceFactory.create_batch(3, mailing=mailing)
    page = abuse_client.get(f"/mailings/{mailing.pk}/")
    assert page.context["bogus_rate"] == pytest.approx(0.3)
    assert page.context["bounce_reasons"][0]["total"] == 3


def test_cause_7_mailing_page_shows_the_address_mailed_beside_the_final_one(
    abuse_client,
):
    mailing = MailingFactory()
    BounceFactory(
        mailing=mailing,
        address="j.doe@mail.example.org",
        original_address="john@example.org",
    )
    page = abuse_client.get(f"/mailings/{mailing.pk}/")
    assert "j.doe@mail.example.org" in page.content.decode()
    assert "sent to john@example.org" in page.content.decode()


def test_bulk_form_offers_exactly_the_actions_the_service_knows():
    from complaints.forms import BulkActionForm
    from complaints.services.triage import BULK_ACTIONS

    choices = BulkActionForm().fields["action"].choices
    assert choices[0] == ("", "Choose an action…")
    assert {value for value, _label in choices[1:]} == BULK_ACTIONS


def test_dashboard_cards_stop_counting_at_the_cap(abuse_client, monkeypatch):
    from complaints import selectors

    monkeypatch.setattr(selectors, "DASHBOARD_COUNT_CAP", 2)
    monkeypatch.setattr(selectors.CappedCount, "cap", 2)
    ComplaintFactory.create_batch(3)

    response = abuse_client.get("/dashboard/")

    assert response.context["counts"]["new_complaints"].is_capped
    assert "more than 2" in response.content.decode()


def test_dashboard_chart_counts_a_complaint_of_today_at_once(abuse_client):
    abuse_client.get("/dashboard/")
    ComplaintFactory()

    daily = abuse_client.get("/dashboard/").context["daily"]

    assert daily[-1].complaints == 1


def test_queue_pages_forward_and_back_with_the_filter_kept(abuse_client):
    ComplaintFactory.create_batch(55, state=Complaint.State.NEW)
    ComplaintFactory.create_batch(3, state=Complaint.State.DISMISSED)

    first = abuse_client.get("/complaints/?state=new&order=subject")
    page = first.context["page"]
    second = abuse_client.get(f"/complaints/{page.next_link}")
    back = abuse_client.get(f"/complaints/{second.context['page'].previous_link}")

    assert len(page) == 50 and len(second.context["page"]) == 5
    assert {c.state for c in second.context["page"]} == {"new"}
    assert [c.pk for c in back.context["page"]] == [c.pk for c in page]
    assert 'rel="next"' in first.content.decode()
    assert "Last »" in first.content.decode()
