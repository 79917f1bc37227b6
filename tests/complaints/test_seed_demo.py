"""``manage.py seed_demo``: the demo data it loads and the demo users it resets."""

import io
import re

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.db.models import Count, Q
from django.http import HttpRequest

from accounts.models import Action, Subscriber
from complaints.models import Bounce, Complaint, InboundMessage, Mailing, Strike

pytestmark = pytest.mark.django_db

USER_LINE = re.compile(r"^\s+(abuse|support|admin)\s+(\S+)\s+\(", re.MULTILINE)


def _seed() -> str:
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def _passwords(output: str) -> dict[str, str]:
    return dict(USER_LINE.findall(output))


def _live_strikes() -> dict[str, int]:
    return dict(
        Subscriber.objects.filter(account_number__startswith="DEMO-")
        .annotate(live=Count("strikes", filter=Q(strikes__revoked_at__isnull=True)))
        .values_list("account_number", "live")
    )


def test_seed_demo_loads_subscribers_mailings_complaints_and_bounces():
    _seed()

    assert Subscriber.objects.filter(account_number__startswith="DEMO-").count() >= 200
    assert set(Mailing.objects.values_list("state", flat=True)) == set(
        Mailing.State.values
    )
    assert {Complaint.Channel.FEEDBACK_LOOP, Complaint.Channel.EMAIL} <= set(
        Complaint.objects.values_list("channel", flat=True)
    )
    assert Complaint.objects.filter(state=Complaint.State.NEW, mailing=None).exists()
    assert Complaint.objects.filter(state=Complaint.State.LINKED).exists()
    assert all(
        ref.startswith("D")
        for ref in Complaint.objects.values_list("reference", flat=True)
    )
    assert Bounce.objects.filter(is_hard=True).exists()
    assert Bounce.objects.filter(is_hard=False).exists()
    assert InboundMessage.objects.filter(state=InboundMessage.State.FAILED).count() == 2


def test_seed_demo_has_subscribers_at_every_strike_count_and_one_revoked_strike():
    _seed()

    counts = _live_strikes()
    assert set(counts.values()) == {0, 1, 2, 3}
    assert Strike.objects.exclude(revoked_at=None).count() == 1
    at_limit = [number for number, live in counts.items() if live == 3]
    assert set(
        Subscriber.objects.filter(account_number__in=at_limit).values_list(
            "status", flat=True
        )
    ) == {Subscriber.Status.SUSPENDED}


def test_seed_demo_timeline_matches_the_strikes():
    _seed()

    for subscriber in Subscriber.objects.filter(strikes__isnull=False).distinct():
        kinds = list(subscriber.actions.values_list("kind", flat=True))
        strikes = subscriber.strikes.count()
        assert kinds.count(Action.Kind.STRIKE) == strikes
        if strikes == 3:
            assert Action.Kind.SUSPENSION in kinds
            assert Action.Kind.FINAL_WARNING in kinds
    assert Action.objects.filter(kind=Action.Kind.STRIKE_REVOKED).count() == 1


def test_seed_demo_mailing_counts_match_their_complaints_and_bounces():
    _seed()

    reports = dict(
        Complaint.objects.values_list("mailing").annotate(n=Count("pk")).order_by()
    )
    hard = dict(
        Bounce.objects.filter(is_hard=True)
        .values_list("mailing")
        .annotate(n=Count("pk"))
        .order_by()
    )
    for mailing in Mailing.objects.all():
        assert mailing.complaint_count == reports.get(mailing.pk, 0)
        assert mailing.hard_bounce_count == hard.get(mailing.pk, 0)


def test_second_run_adds_no_data():
    _seed()
    before = [
        m.objects.count() for m in (Subscriber, Mailing, Complaint, Bounce, Action)
    ]

    output = _seed()

    assert "already loaded" in output
    after = [
        m.objects.count() for m in (Subscriber, Mailing, Complaint, Bounce, Action)
    ]
    assert after == before


def test_demo_users_log_in_with_the_printed_passwords(client):
    passwords = _passwords(_seed())

    assert set(passwords) == {"abuse", "support", "admin"}
    for username, password in passwords.items():
        assert client.login(
            request=HttpRequest(), username=username, password=password
        ), username
        client.logout()


def test_each_run_gives_the_demo_users_new_passwords(client):
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
    _seed()

    abuse, support, admin = (
        User.objects.get(username=name) for name in ("abuse", "support", "admin")
    )
    assert list(abuse.groups.values_list("name", flat=True)) == ["abuse"]
    assert abuse.is_staff and not abuse.is_superuser
    assert list(support.groups.values_list("name", flat=True)) == ["support"]
    assert admin.is_superuser and admin.is_staff


def test_output_names_the_login_page():
    assert "http://127.0.0.1:8000/login/" in _seed()
