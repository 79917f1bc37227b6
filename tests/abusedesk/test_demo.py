"""The demo of ``make run`` (abusedesk/demo.py and ``manage.py seed_demo``): real
messages through the desk's own path, staff's decisions through the services.

Loading the demo takes some seconds, so each test that loads it checks one side
of what it made; the tests about the users give the desk a subscriber first,
which makes the demo leave the data alone. Transactions really commit, as under
``make run``, so the notices sent after each commit are sent here too.
"""

import email
import email.policy
import io
import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.db.models import Count, Q
from django.http import HttpRequest
from django.utils import timezone

from accounts.models import Action, Subscriber
from complaints import selectors
from complaints.models import Bounce, Complaint, InboundMessage, Mailing, Strike
from tests.accounts.factories import SubscriberFactory

pytestmark = pytest.mark.django_db(transaction=True)

USER_LINE = re.compile(r"^\s+(abuse|support|admin)\s+(\S+)\s+\(", re.MULTILINE)


@pytest.fixture(autouse=True)
def _own_var_dir(settings, tmp_path):
    """The demo writes its ISP's settings under VAR_DIR; not the repository's."""
    settings.VAR_DIR = tmp_path


def _seed() -> str:
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def _passwords(output: str) -> dict[str, str]:
    return dict(USER_LINE.findall(output))


def _text(raw: bytes) -> str:
    """The message as a person reads it: every part decoded, headers included."""
    message = email.message_from_bytes(raw, policy=email.policy.default)
    pieces = [str(value) for value in message.values()]
    for part in message.walk():
        pieces += [str(value) for value in part.values()]
        if part.get_content_type() == "message/rfc822":
            pieces.append(part.as_string())
        elif not part.is_multipart():
            # Attached messages (.eml, base64) as well as text parts.
            payload = part.get_payload(decode=True) or b""
            pieces.append(payload.decode("utf-8", "replace"))
    return "\n".join(pieces).lower() + raw.decode("utf-8", "replace").lower()


def test_every_complaint_and_bounce_is_what_its_raw_message_says():
    now = timezone.now()
    _seed()

    complaints = Complaint.objects.select_related("inbound")
    bounces = Bounce.objects.select_related("inbound")
    assert complaints.count() > 100 and bounces.count() > 50
    for complaint in complaints:
        assert complaint.inbound.state == InboundMessage.State.PROCESSED
        text = _text(bytes(complaint.inbound.raw))
        if complaint.message_id:
            assert complaint.message_id.strip("<>").lower() in text, complaint.pk
        if complaint.source_ip:
            assert str(complaint.source_ip) in text, complaint.pk
    for bounce in bounces:
        assert bounce.inbound.state == InboundMessage.State.PROCESSED
        assert bounce.address.lower() in _text(bytes(bounce.inbound.raw)), bounce.pk
    # Received over the last weeks, processed in arrival order, not all today.
    received = InboundMessage.objects.values_list("received_at", flat=True)
    assert min(received) > now - timedelta(days=30)
    assert max(received) <= now + timedelta(minutes=1)
    days = {r.date() for r in Complaint.objects.values_list("received_at", flat=True)}
    # How many calendar days the weeks touch depends on the hour the demo runs
    # (its last mailing is placed a day before now), so ask for more than a week.
    assert len(days) > 7
    for inbound in InboundMessage.objects.exclude(state="pending"):
        assert inbound.processed_at >= inbound.received_at


def test_the_demo_has_every_case_the_pages_show_and_every_dashboard_card_a_count():
    _seed()

    assert set(Mailing.objects.values_list("state", flat=True)) == set(
        Mailing.State.values
    )
    assert {"feedback_loop", "email", "web_form"} <= set(
        Complaint.objects.values_list("channel", flat=True)
    )
    assert Complaint.objects.filter(state=Complaint.State.NEW).exists()
    assert Complaint.objects.filter(state=Complaint.State.DUPLICATE).exists()
    assert Complaint.objects.filter(is_forged=True).exists()
    assert Complaint.objects.exclude(complainant_text="").exists()
    assert Bounce.objects.filter(is_hard=True).exists()
    assert Bounce.objects.filter(is_hard=False).exists()
    states = dict(
        InboundMessage.objects.values_list("state").annotate(n=Count("pk")).order_by()
    )
    assert states["failed"] == 2 and states["pending"] == 1 and states["ignored"] > 0
    assert all(
        "too complex" in error
        for error in InboundMessage.objects.filter(state="failed").values_list(
            "error", flat=True
        )
    )
    held = Mailing.objects.filter(state=Mailing.State.HELD)
    assert all(len(batch.held_recipients) >= 6 for batch in held)
    assert any(
        not r.is_valid
        for batch in held
        for r in selectors.mailing_held_recipients(mailing=batch)
    )
    counts = selectors.dashboard_counts(now=timezone.now())
    assert all(value > 0 for value in counts.values()), counts
    assert selectors.mailings_top_this_week(now=timezone.now()).exists()


def test_strikes_notices_and_counters_come_from_the_services():
    _seed()

    live = dict(
        Subscriber.objects.annotate(
            live=Count("strikes", filter=Q(strikes__revoked_at__isnull=True))
        ).values_list("account_number", "live")
    )
    assert {0, 1, 2, 3} <= set(live.values())
    assert Strike.objects.exclude(revoked_at=None).count() == 1
    at_limit = Subscriber.objects.filter(
        account_number__in=[n for n, count in live.items() if count >= 3]
    )
    assert set(at_limit.values_list("status", flat=True)) == {"suspended"}
    assert Strike.objects.filter(issued_by=None, reason="bogus_addresses").exists()
    assert set(Subscriber.objects.values_list("status", flat=True)) == set(
        Subscriber.Status.values
    )
    for mailing in Mailing.objects.exclude(state=Mailing.State.HELD):
        linked = mailing.complaints.filter(state="linked", is_forged=False).count()
        hard = mailing.bounces.filter(is_hard=True, is_forged=False).count()
        assert (mailing.complaint_count, mailing.hard_bounce_count) == (linked, hard)
    # Every notice the decisions caused was sent, and its text kept.
    notices = Action.objects.exclude(notice_template="")
    assert {"warning", "final_warning", "suspension", "compromise_advice"} <= set(
        notices.values_list("notice_template", flat=True)
    )
    assert not notices.filter(notified_at=None).exists()
    assert not notices.filter(notice_text="").exists()
    owed = Complaint.objects.filter(needs_acknowledgment=True)
    assert owed.exists() and not owed.filter(acknowledged_at=None).exists()


def test_second_run_adds_no_data_and_the_isps_servers_are_kept_for_the_launcher(
    settings,
):
    _seed()
    models = (Subscriber, InboundMessage, Mailing, Complaint, Bounce, Action, Strike)
    before = [model.objects.count() for model in models]

    output = _seed()

    assert "no demo data loaded" in output
    assert [model.objects.count() for model in models] == before
    written = (settings.VAR_DIR / "demo-isp.env").read_text()
    assert "ABUSE_RELAY_HOSTS=" in written and "ABUSE_TRACE_HEADER=" in written


def test_a_desk_with_data_gets_no_demo():
    SubscriberFactory()

    output = _seed()

    assert "no demo data loaded" in output
    assert Subscriber.objects.count() == 1
    assert not InboundMessage.objects.exists()


def test_demo_users_log_in_with_the_printed_passwords(client):
    SubscriberFactory()
    passwords = _passwords(_seed())

    assert set(passwords) == {"abuse", "support", "admin"}
    for username, password in passwords.items():
        assert client.login(
            request=HttpRequest(), username=username, password=password
        ), username
        client.logout()


def test_each_run_gives_the_demo_users_new_passwords(client):
    SubscriberFactory()
    first = _passwords(_seed())
    second = _passwords(_seed())

    assert first["abuse"] != second["abuse"]
    assert not client.login(
        request=HttpRequest(), username="abuse", password=first["abuse"]
    )
    assert client.login(
        request=HttpRequest(), username="abuse", password=second["abuse"]
    )


def test_demo_users_have_their_roles():
    SubscriberFactory()
    _seed()

    abuse, support, admin = (
        User.objects.get(username=name) for name in ("abuse", "support", "admin")
    )
    assert list(abuse.groups.values_list("name", flat=True)) == ["abuse"]
    assert abuse.is_staff and not abuse.is_superuser
    assert list(support.groups.values_list("name", flat=True)) == ["support"]
    assert not support.is_staff
    assert admin.is_superuser and admin.is_staff


def test_output_names_the_login_page():
    SubscriberFactory()
    assert "http://127.0.0.1:8000/login/" in _seed()
