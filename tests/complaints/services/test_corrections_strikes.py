"""Strikes follow a correction: a merged mailing keeps one, a live duplicate is
revoked, and a suspension that rested on it is noted, never lifted."""

from datetime import timedelta

import pytest
from django.core import mail

from accounts.models import Action, Subscriber
from complaints.models import Mailing, MailingKey, Strike
from complaints.services import (
    mailing_merge,
)
from tests.accounts.factories import ActionFactory
from tests.complaints.factories import (
    StrikeFactory,
)
from tests.complaints.services.builders import (
    T0,
    actions,
    mailing_with,
    merge,
    move,
    struck,
)

pytestmark = pytest.mark.django_db


def test_merge_with_the_strike_on_the_target_keeps_it(subscriber):
    target = struck(subscriber)
    source = mailing_with(subscriber, complaints=1)
    strike = target.strike

    merged = merge(target, source)

    assert merged.state == Mailing.State.STRUCK
    assert Strike.objects.get(pk=strike.pk).mailing == merged
    assert Strike.objects.get(pk=strike.pk).revoked_at is None
    assert not actions(subscriber, Action.Kind.STRIKE_REVOKED)


def test_merge_with_the_strike_on_the_source_moves_it_to_the_target(
    subscriber, committed
):
    target = mailing_with(subscriber, complaints=1)
    source = struck(subscriber)
    strike = source.strike

    merged = committed(
        mailing_merge, target=target, sources=[source], actor=None, reason="same"
    )

    strike.refresh_from_db()
    assert strike.mailing == merged
    assert strike.revoked_at is None
    assert merged.state == Mailing.State.STRUCK
    source.refresh_from_db()
    assert source.state == Mailing.State.DISMISSED
    assert Strike.objects.filter(subscriber=subscriber, revoked_at=None).count() == 1
    # The customer was told about this strike once; moving it tells nobody again.
    assert not actions(subscriber, Action.Kind.WARNING)
    assert len(mail.outbox) == 0
    merged_action = Action.objects.get(kind=Action.Kind.MAILING_MERGED)
    assert merged_action.strike == strike


def test_merge_of_two_struck_mailings_keeps_one_and_revokes_the_other(
    subscriber, abuse_user
):
    target = struck(subscriber)
    source = struck(subscriber)

    merge(target, source, actor=abuse_user)

    kept, revoked = target.strike, Strike.objects.get(mailing=source)
    kept.refresh_from_db()
    assert kept.revoked_at is None and kept.mailing_id == target.pk
    assert revoked.revoked_at is not None
    assert revoked.revoke_reason == f"duplicate of mailing #{target.pk} after merge"
    assert revoked.revoked_by == abuse_user
    (revocation,) = actions(subscriber, Action.Kind.STRIKE_REVOKED)
    assert revocation.reason == f"duplicate of mailing #{target.pk} after merge"
    assert revocation.strike == revoked
    source.refresh_from_db()
    assert source.state == Mailing.State.DISMISSED


def test_merge_of_struck_sources_into_an_unstruck_target_keeps_the_oldest(subscriber):
    target = mailing_with(subscriber, complaints=1)
    newer = struck(subscriber, at=T0 + timedelta(hours=2))
    older = struck(subscriber, at=T0)

    merge(target, newer, older)

    assert Strike.objects.get(mailing=target).pk == older.strike.pk
    assert Strike.objects.get(mailing=newer).revoked_at is not None
    assert Strike.objects.filter(subscriber=subscriber, revoked_at=None).count() == 1


def test_merge_keeps_a_revoked_strike_of_a_source_where_it_was(subscriber):
    target = mailing_with(subscriber, complaints=1)
    source = mailing_with(subscriber, complaints=1)
    old = StrikeFactory(
        mailing=source, revoked_at=T0, revoke_reason="appeal upheld", issued_at=T0
    )

    merged = merge(target, source)

    old.refresh_from_db()
    assert old.mailing_id == source.pk
    assert merged.state == Mailing.State.OPEN
    assert not Strike.objects.filter(mailing=target).exists()


def suspended_at_the_limit(subscriber):
    """Three live strikes, the third suspended the account (as strike_issue does)."""
    mailings = [struck(subscriber, at=T0 + timedelta(minutes=n)) for n in range(3)]
    subscriber.status = Subscriber.Status.SUSPENDED
    subscriber.save(update_fields=["status"])
    ActionFactory(
        subscriber=subscriber,
        kind=Action.Kind.SUSPENSION,
        mailing=mailings[2],
        strike=mailings[2].strike,
    )
    return mailings


def test_revoking_the_duplicate_the_suspension_rested_on_notes_it_and_keeps_it(
    subscriber,
):
    first, second, third = suspended_at_the_limit(subscriber)

    merge(first, third)

    subscriber.refresh_from_db()
    assert subscriber.status == Subscriber.Status.SUSPENDED
    assert not actions(subscriber, Action.Kind.REINSTATEMENT)
    (note,) = actions(subscriber, Action.Kind.NOTE)
    assert "Live strikes went from 3 to 2 of 3" in note.reason
    assert f"duplicate of mailing #{first.pk} after merge" in note.reason
    assert "stays suspended" in note.reason
    assert note.mailing == first


def test_revocation_under_a_suspension_by_hand_writes_no_note(subscriber):
    first = struck(subscriber)
    second = struck(subscriber)
    subscriber.status = Subscriber.Status.SUSPENDED
    subscriber.save(update_fields=["status"])
    ActionFactory(subscriber=subscriber, kind=Action.Kind.SUSPENSION)

    merge(first, second)

    assert not actions(subscriber, Action.Kind.NOTE)
    subscriber.refresh_from_db()
    assert subscriber.status == Subscriber.Status.SUSPENDED


def test_revocation_that_leaves_the_limit_reached_writes_no_note(subscriber, settings):
    settings.ABUSE_STRIKE_LIMIT = 2
    first, second, third = suspended_at_the_limit(subscriber)
    Action.objects.filter(kind=Action.Kind.SUSPENSION).update(strike=second.strike)

    merge(first, third)  # 3 -> 2 live strikes, still the limit of 2

    assert not actions(subscriber, Action.Kind.NOTE)


def test_move_that_empties_a_mailing_closes_it_and_its_strike_follows(subscriber):
    origin = struck(subscriber)
    target = mailing_with(subscriber, complaints=1)
    key = MailingKey.objects.create(mailing=origin, kind="queue_id", value="Q1")

    moved = move(target, origin.complaints.all())

    origin.refresh_from_db()
    assert origin.state == Mailing.State.DISMISSED
    assert origin.signals["merged_into"] == target.pk
    assert Strike.objects.get(mailing=moved).revoked_at is None
    assert moved.state == Mailing.State.STRUCK
    assert MailingKey.objects.get(pk=key.pk).mailing_id == target.pk
