"""Strikes, compromise and dismissal against PostgreSQL, with notices sent as if
each service's transaction had committed."""

from datetime import timedelta

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.db.models import ProtectedError
from django.utils import timezone

from accounts.models import Action, Subscriber
from accounts.services import password_reset_record, subscriber_terminate
from complaints.models import Bounce, Complaint, Mailing, Strike
from complaints.services import (
    mailing_dismiss,
    mailing_mark_compromised,
    mailing_policy_apply,
    strike_issue,
    strike_revoke,
)
from complaints.services import strikes as strike_services
from tests.complaints.factories import (
    BounceFactory,
    ComplaintFactory,
    MailingFactory,
    StrikeFactory,
)

pytestmark = pytest.mark.django_db


def complained(subscriber, count=1, **fields):
    """A mailing of ``subscriber`` with ``count`` linked complaints."""
    mailing = MailingFactory(subscriber=subscriber, complaint_count=count, **fields)
    ComplaintFactory.create_batch(
        count,
        subscriber=subscriber,
        mailing=mailing,
        state=Complaint.State.LINKED,
    )
    return mailing


def bounced(subscriber, hard, recipients):
    """A mailing of ``subscriber`` with ``hard`` hard bounces out of ``recipients``."""
    mailing = MailingFactory(
        subscriber=subscriber,
        source=Mailing.Source.BOUNCES,
        recipient_count=recipients,
        hard_bounce_count=hard,
    )
    BounceFactory.create_batch(hard, subscriber=subscriber, mailing=mailing)
    return mailing


def kinds(subscriber) -> list[str]:
    return list(
        Action.objects.filter(subscriber=subscriber)
        .order_by("pk")
        .values_list("kind", flat=True)
    )


def test_complaints_on_three_mailings_warn_then_finally_warn_then_suspend(
    committed, subscriber, abuse_user
):
    for _ in range(3):
        committed(strike_issue, mailing=complained(subscriber), actor=abuse_user)

    subscriber.refresh_from_db()
    assert subscriber.status == Subscriber.Status.SUSPENDED
    assert Strike.objects.filter(subscriber=subscriber).count() == 3
    assert kinds(subscriber) == [
        Action.Kind.STRIKE,
        Action.Kind.WARNING,
        Action.Kind.STRIKE,
        Action.Kind.FINAL_WARNING,
        Action.Kind.STRIKE,
        Action.Kind.SUSPENSION,
    ]
    assert [m.subject for m in mail.outbox] == [
        f"Warning about mail sent from your account {subscriber.account_number}",
        f"Final warning about mail sent from your account {subscriber.account_number}",
        f"Sending from your account {subscriber.account_number} is suspended",
    ]
    assert all(m.to == [subscriber.contact_email] for m in mail.outbox)
    assert all(
        m.extra_headers["Auto-Submitted"] == "auto-generated" for m in mail.outbox
    )
    assert "Strike 3 of 3" in mail.outbox[2].body


def test_every_notice_is_recorded_on_the_timeline_as_sent(
    committed, subscriber, abuse_user
):
    committed(strike_issue, mailing=complained(subscriber), actor=abuse_user)

    warning = Action.objects.get(subscriber=subscriber, kind=Action.Kind.WARNING)
    assert warning.notice_template == "warning"
    assert warning.notified_at is not None
    strike_action = Action.objects.get(subscriber=subscriber, kind=Action.Kind.STRIKE)
    assert strike_action.notice_template == ""
    assert strike_action.mailing_id == warning.mailing_id
    assert strike_action.strike_id == warning.strike_id


def test_ten_complaints_on_one_mailing_make_one_strike(committed, subscriber, settings):
    settings.ABUSE_AUTO_STRIKE = True
    mailing = MailingFactory(subscriber=subscriber)
    for n in range(1, 11):
        ComplaintFactory(subscriber=subscriber, mailing=mailing)
        Mailing.objects.filter(pk=mailing.pk).update(complaint_count=n)
        committed(mailing_policy_apply, mailing=mailing)

    assert Strike.objects.filter(subscriber=subscriber).count() == 1
    assert kinds(subscriber) == [Action.Kind.STRIKE, Action.Kind.WARNING]
    assert len(mail.outbox) == 1
    subscriber.refresh_from_db()
    assert subscriber.status == Subscriber.Status.ACTIVE


def test_issuing_on_a_struck_mailing_returns_its_strike_and_writes_nothing(
    committed, subscriber, abuse_user
):
    mailing = complained(subscriber)
    first = committed(strike_issue, mailing=mailing, actor=abuse_user)
    actions = Action.objects.count()

    again = committed(strike_issue, mailing=mailing, actor=abuse_user)

    assert again == first
    assert Action.objects.count() == actions
    assert len(mail.outbox) == 1


def test_strike_records_who_issued_it_and_marks_the_mailing_struck(
    subscriber, abuse_user
):
    mailing = complained(subscriber)
    now = timezone.now() - timedelta(hours=1)

    strike = strike_issue(mailing=mailing, actor=abuse_user, now=now)

    assert (strike.issued_by, strike.issued_at) == (abuse_user, now)
    assert strike.reason == Strike.Reason.COMPLAINTS
    assert mailing.state == Mailing.State.STRUCK
    mailing.refresh_from_db()
    assert mailing.state == Mailing.State.STRUCK


def test_mailing_without_enough_complaints_cannot_be_struck(
    subscriber, abuse_user, settings
):
    settings.ABUSE_COMPLAINTS_PER_STRIKE = 3
    mailing = complained(subscriber, count=2)

    with pytest.raises(ValidationError, match="not drawn enough"):
        strike_issue(mailing=mailing, actor=abuse_user)
    assert not Strike.objects.exists()
    assert not Action.objects.exists()


@pytest.mark.parametrize("state", [Mailing.State.COMPROMISED, Mailing.State.DISMISSED])
def test_compromised_or_dismissed_mailing_cannot_be_struck(
    subscriber, abuse_user, state
):
    mailing = complained(subscriber, state=state)

    with pytest.raises(ValidationError, match="cannot get a strike"):
        strike_issue(mailing=mailing, actor=abuse_user)
    assert not Strike.objects.exists()


def test_policy_leaves_complaint_strikes_to_staff_without_auto_strike(
    committed, subscriber, settings
):
    settings.ABUSE_AUTO_STRIKE = False
    mailing = complained(subscriber, count=5)

    assert committed(mailing_policy_apply, mailing=mailing) is None
    assert not Strike.objects.exists()
    assert not Action.objects.exists()
    assert mail.outbox == []


def test_policy_strikes_complaint_mailing_with_auto_strike_as_the_system(
    committed, subscriber, settings
):
    settings.ABUSE_AUTO_STRIKE = True
    mailing = complained(subscriber)

    strike = committed(mailing_policy_apply, mailing=mailing)

    assert strike.issued_by is None
    assert Action.objects.filter(actor__isnull=True).count() == 2
    assert len(mail.outbox) == 1


def test_bounce_storm_suspends_at_once_with_its_notice(committed, subscriber, settings):
    settings.ABUSE_AUTO_STRIKE = False
    mailing = bounced(subscriber, hard=30, recipients=100)

    strike = committed(mailing_policy_apply, mailing=mailing)

    assert strike.reason == Strike.Reason.BOGUS_ADDRESSES
    subscriber.refresh_from_db()
    assert subscriber.status == Subscriber.Status.SUSPENDED
    assert kinds(subscriber) == [Action.Kind.STRIKE, Action.Kind.SUSPENSION]
    [notice] = mail.outbox
    assert notice.subject.endswith("is suspended")
    assert "30 out of 100 addresses that do not exist" in notice.body
    assert "protect the mail servers" in notice.body


def test_bounces_below_the_storm_threshold_do_nothing(committed, subscriber):
    mailing = bounced(subscriber, hard=24, recipients=None)

    assert committed(mailing_policy_apply, mailing=mailing) is None
    subscriber.refresh_from_db()
    assert subscriber.status == Subscriber.Status.ACTIVE
    assert not Action.objects.exists()


def test_bounce_storm_on_a_warned_subscriber_suspends_without_a_final_warning(
    committed, subscriber, abuse_user
):
    committed(strike_issue, mailing=complained(subscriber), actor=abuse_user)

    committed(mailing_policy_apply, mailing=bounced(subscriber, hard=25, recipients=0))

    assert kinds(subscriber)[2:] == [Action.Kind.STRIKE, Action.Kind.SUSPENSION]
    assert "Strike 2 of 3" in mail.outbox[1].body


@pytest.mark.parametrize("state", [Mailing.State.COMPROMISED, Mailing.State.DISMISSED])
def test_policy_leaves_mailings_staff_closed_alone(committed, subscriber, state):
    mailing = bounced(subscriber, hard=50, recipients=100)
    Mailing.objects.filter(pk=mailing.pk).update(state=state)

    assert committed(mailing_policy_apply, mailing=mailing) is None
    assert not Strike.objects.exists()


def test_strike_on_a_suspended_account_writes_no_warning(
    committed, subscriber, abuse_user
):
    Subscriber.objects.filter(pk=subscriber.pk).update(
        status=Subscriber.Status.SUSPENDED
    )

    committed(strike_issue, mailing=complained(subscriber), actor=abuse_user)

    assert kinds(subscriber) == [Action.Kind.STRIKE]
    assert mail.outbox == []


def test_a_fourth_strike_on_a_suspended_account_changes_nothing_else(
    committed, subscriber, abuse_user
):
    for _ in range(4):
        committed(strike_issue, mailing=complained(subscriber), actor=abuse_user)

    assert kinds(subscriber).count(Action.Kind.SUSPENSION) == 1
    assert kinds(subscriber)[-1] == Action.Kind.STRIKE
    assert len(mail.outbox) == 3


def test_strikes_older_than_the_window_do_not_count(committed, subscriber, settings):
    settings.ABUSE_STRIKE_WINDOW_DAYS = 30
    now = timezone.now()
    for days in (40, 31):
        StrikeFactory(
            mailing=MailingFactory(subscriber=subscriber),
            issued_at=now - timedelta(days=days),
        )

    committed(strike_issue, mailing=complained(subscriber), actor=None, now=now)

    assert kinds(subscriber)[-1] == Action.Kind.WARNING
    assert "Strike 1 of 3" in mail.outbox[0].body


def test_without_a_window_old_strikes_still_count(committed, subscriber, settings):
    settings.ABUSE_STRIKE_WINDOW_DAYS = None
    now = timezone.now()
    for days in (4000, 2000):
        StrikeFactory(
            mailing=MailingFactory(subscriber=subscriber),
            issued_at=now - timedelta(days=days),
        )

    committed(strike_issue, mailing=complained(subscriber), actor=None, now=now)

    subscriber.refresh_from_db()
    assert subscriber.status == Subscriber.Status.SUSPENDED


def test_compromised_mailing_restricts_without_a_strike_and_sends_the_advice(
    committed, subscriber, abuse_user
):
    mailing = complained(subscriber, count=4)

    committed(mailing_mark_compromised, mailing=mailing, actor=abuse_user)

    subscriber.refresh_from_db()
    assert subscriber.status == Subscriber.Status.RESTRICTED
    assert not subscriber.may_send
    assert mailing.state == Mailing.State.COMPROMISED
    assert not Strike.objects.exists()
    assert kinds(subscriber) == [Action.Kind.RESTRICTION]
    [advice] = mail.outbox
    assert "one you use nowhere else" in advice.body
    assert "antivirus" in advice.body
    assert "downloads" in advice.body


def test_password_reset_after_compromise_makes_the_account_active_again(
    committed, subscriber, abuse_user
):
    committed(
        mailing_mark_compromised, mailing=complained(subscriber), actor=abuse_user
    )

    committed(password_reset_record, subscriber=subscriber, actor=abuse_user)

    subscriber.refresh_from_db()
    assert subscriber.status == Subscriber.Status.ACTIVE
    assert subscriber.may_send
    assert kinds(subscriber) == [Action.Kind.RESTRICTION, Action.Kind.PASSWORD_RESET]


def test_marking_compromised_twice_writes_and_sends_nothing_more(
    committed, subscriber, abuse_user
):
    mailing = complained(subscriber)
    committed(mailing_mark_compromised, mailing=mailing, actor=abuse_user)

    committed(mailing_mark_compromised, mailing=mailing, actor=abuse_user)

    assert Action.objects.count() == 1
    assert len(mail.outbox) == 1


def test_mailing_with_a_live_strike_cannot_be_marked_compromised(
    committed, subscriber, abuse_user
):
    mailing = complained(subscriber)
    committed(strike_issue, mailing=mailing, actor=abuse_user)

    with pytest.raises(ValidationError, match="revoke it"):
        mailing_mark_compromised(mailing=mailing, actor=abuse_user)


def test_revoked_strike_lets_staff_mark_the_mailing_compromised(
    committed, subscriber, abuse_user
):
    mailing = bounced(subscriber, hard=40, recipients=None)
    strike = committed(mailing_policy_apply, mailing=mailing)
    committed(
        strike_revoke,
        strike=strike,
        actor=abuse_user,
        reason="Stolen password",
        reinstate=True,
    )

    committed(mailing_mark_compromised, mailing=mailing, actor=abuse_user)

    subscriber.refresh_from_db()
    assert subscriber.status == Subscriber.Status.RESTRICTED
    assert mailing.state == Mailing.State.COMPROMISED


def test_compromise_on_a_suspended_account_sends_advice_but_keeps_it_suspended(
    committed, subscriber, abuse_user
):
    Subscriber.objects.filter(pk=subscriber.pk).update(
        status=Subscriber.Status.SUSPENDED
    )

    committed(
        mailing_mark_compromised, mailing=complained(subscriber), actor=abuse_user
    )

    subscriber.refresh_from_db()
    assert subscriber.status == Subscriber.Status.SUSPENDED
    assert kinds(subscriber) == [Action.Kind.NOTE]
    [advice] = mail.outbox
    assert "suspended for now" in advice.body


def test_compromise_on_a_restricted_account_only_notes_it(
    committed, subscriber, abuse_user
):
    committed(
        mailing_mark_compromised, mailing=complained(subscriber), actor=abuse_user
    )

    committed(
        mailing_mark_compromised, mailing=complained(subscriber), actor=abuse_user
    )

    assert kinds(subscriber) == [Action.Kind.RESTRICTION, Action.Kind.NOTE]
    assert len(mail.outbox) == 1


def test_revoking_a_strike_keeps_the_row_with_who_when_and_why(
    committed, subscriber, abuse_user
):
    mailing = complained(subscriber)
    strike = committed(strike_issue, mailing=mailing, actor=abuse_user)
    now = timezone.now()

    committed(
        strike_revoke,
        strike=strike,
        actor=abuse_user,
        reason="Confirmed opt-in list",
        now=now,
    )

    strike.refresh_from_db()
    assert (strike.revoked_by, strike.revoked_at) == (abuse_user, now)
    assert strike.revoke_reason == "Confirmed opt-in list"
    mailing.refresh_from_db()
    assert mailing.state == Mailing.State.OPEN
    assert kinds(subscriber)[-1] == Action.Kind.STRIKE_REVOKED


def test_revoking_without_a_reason_is_refused(subscriber, abuse_user):
    strike = strike_issue(mailing=complained(subscriber), actor=abuse_user)

    with pytest.raises(ValidationError, match="reason"):
        strike_revoke(strike=strike, actor=abuse_user, reason="  ")
    strike.refresh_from_db()
    assert strike.revoked_at is None


def test_revoking_twice_writes_nothing_more(committed, subscriber, abuse_user):
    strike = committed(strike_issue, mailing=complained(subscriber), actor=abuse_user)
    committed(strike_revoke, strike=strike, actor=abuse_user, reason="Appeal")
    actions = Action.objects.count()

    again = committed(strike_revoke, strike=strike, actor=abuse_user, reason="Again")

    assert again.revoke_reason == "Appeal"
    assert Action.objects.count() == actions


def test_revoked_mailing_never_gets_a_second_strike(committed, subscriber, abuse_user):
    mailing = complained(subscriber)
    strike = committed(strike_issue, mailing=mailing, actor=abuse_user)
    committed(strike_revoke, strike=strike, actor=abuse_user, reason="Appeal")

    assert committed(strike_issue, mailing=mailing, actor=abuse_user) == strike
    assert committed(mailing_policy_apply, mailing=mailing) == strike
    assert Strike.objects.count() == 1


def test_revoking_a_strike_the_suspension_rested_on_reinstates_when_asked(
    committed, subscriber, abuse_user
):
    struck = [
        committed(strike_issue, mailing=complained(subscriber), actor=abuse_user)
        for _ in range(3)
    ]

    committed(
        strike_revoke,
        strike=struck[1],
        actor=abuse_user,
        reason="Complaints were from a list the customer bought by mistake",
        reinstate=True,
    )

    subscriber.refresh_from_db()
    assert subscriber.status == Subscriber.Status.ACTIVE
    assert kinds(subscriber)[-2:] == [
        Action.Kind.STRIKE_REVOKED,
        Action.Kind.REINSTATEMENT,
    ]
    assert mail.outbox[-1].subject.endswith("is restored")
    assert "bought by mistake" in mail.outbox[-1].body


def test_revoking_without_reinstate_leaves_the_suspension(
    committed, subscriber, abuse_user
):
    struck = [
        committed(strike_issue, mailing=complained(subscriber), actor=abuse_user)
        for _ in range(3)
    ]

    committed(strike_revoke, strike=struck[0], actor=abuse_user, reason="Appeal")

    subscriber.refresh_from_db()
    assert subscriber.status == Subscriber.Status.SUSPENDED


def test_reinstating_is_refused_while_the_limit_of_live_strikes_remains(
    committed, subscriber, abuse_user
):
    """Four strikes: revoking one still leaves three, so the account stays
    suspended and the revocation is not written either."""
    struck = [
        committed(strike_issue, mailing=complained(subscriber), actor=abuse_user)
        for _ in range(4)
    ]
    actions = Action.objects.count()

    with pytest.raises(ValidationError, match="3 live strikes would remain"):
        strike_revoke(
            strike=struck[0], actor=abuse_user, reason="Appeal", reinstate=True
        )

    struck[0].refresh_from_db()
    assert struck[0].revoked_at is None
    assert Action.objects.count() == actions


def test_reinstating_a_terminated_account_through_a_revocation_is_refused(
    committed, subscriber, abuse_user
):
    strike = committed(strike_issue, mailing=complained(subscriber), actor=abuse_user)
    committed(
        subscriber_terminate, subscriber=subscriber, actor=abuse_user, reason="Spam"
    )

    with pytest.raises(ValidationError, match="terminated"):
        strike_revoke(strike=strike, actor=abuse_user, reason="x", reinstate=True)


def test_dismissing_a_mailing_records_why_and_keeps_the_policy_away(
    committed, subscriber, abuse_user, settings
):
    settings.ABUSE_AUTO_STRIKE = True
    mailing = complained(subscriber, count=3)

    committed(
        mailing_dismiss, mailing=mailing, actor=abuse_user, reason="Confirmed opt-in"
    )

    assert mailing.state == Mailing.State.DISMISSED
    assert committed(mailing_policy_apply, mailing=mailing) is None
    [action] = Action.objects.all()
    assert (action.kind, action.reason) == (
        Action.Kind.MAILING_DISMISSED,
        "Confirmed opt-in",
    )
    assert mail.outbox == []


def test_dismissing_twice_writes_nothing_more(subscriber, abuse_user):
    mailing = complained(subscriber)
    mailing_dismiss(mailing=mailing, actor=abuse_user, reason="Opt-in")

    mailing_dismiss(mailing=mailing, actor=abuse_user, reason="Opt-in")

    assert Action.objects.count() == 1


def test_dismissing_without_a_reason_is_refused(subscriber, abuse_user):
    with pytest.raises(ValidationError, match="reason"):
        mailing_dismiss(mailing=complained(subscriber), actor=abuse_user, reason="")


def test_dismissing_a_struck_or_compromised_mailing_is_refused(subscriber, abuse_user):
    struck = complained(subscriber)
    strike_issue(mailing=struck, actor=abuse_user)
    compromised = complained(subscriber, state=Mailing.State.COMPROMISED)

    with pytest.raises(ValidationError, match="revoke it"):
        mailing_dismiss(mailing=struck, actor=abuse_user, reason="No")
    with pytest.raises(ValidationError, match="compromised"):
        mailing_dismiss(mailing=compromised, actor=abuse_user, reason="No")


def test_terminating_keeps_every_piece_of_evidence(committed, subscriber, abuse_user):
    mailings = [complained(subscriber, count=2) for _ in range(3)]
    for mailing in mailings:
        committed(strike_issue, mailing=mailing, actor=abuse_user)
    storm = bounced(subscriber, hard=30, recipients=None)
    committed(mailing_policy_apply, mailing=storm)
    before = Action.objects.filter(subscriber=subscriber).count()

    committed(
        subscriber_terminate,
        subscriber=subscriber,
        actor=abuse_user,
        reason="Fourth abusive mailing",
    )

    subscriber.refresh_from_db()
    assert subscriber.status == Subscriber.Status.TERMINATED
    assert Mailing.objects.filter(subscriber=subscriber).count() == 4
    assert Complaint.objects.filter(subscriber=subscriber).count() == 6
    assert Bounce.objects.filter(subscriber=subscriber).count() == 30
    assert Strike.objects.filter(subscriber=subscriber).count() == 4
    assert Action.objects.filter(subscriber=subscriber).count() == before + 1
    assert mail.outbox[-1].subject.endswith("has been closed")
    with pytest.raises(ProtectedError):
        subscriber.delete()


def test_automatic_strike_is_undone_when_the_mailing_later_looks_compromised(settings):
    settings.ABUSE_AUTO_STRIKE = True
    mailing = MailingFactory(complaint_count=1)
    strike = strike_services.mailing_policy_apply(mailing=mailing)
    assert strike is not None
    Mailing.objects.filter(pk=mailing.pk).update(
        is_likely_compromised=True, compromise_reason="login used from afar"
    )
    mailing.refresh_from_db()
    assert strike_services.mailing_policy_due(mailing=mailing)
    strike_services.mailing_policy_apply(mailing=mailing)
    strike.refresh_from_db()
    mailing.refresh_from_db()
    mailing.subscriber.refresh_from_db()
    assert strike.revoked_at is not None and strike.revoked_by is None
    assert mailing.state == Mailing.State.COMPROMISED
    assert mailing.subscriber.status == Subscriber.Status.RESTRICTED
