"""What the corrections refuse, and what their plan says will happen."""

import pytest
from django.core.exceptions import ValidationError

from complaints.models import Mailing, Strike
from complaints.services import (
    reports_move,
)
from complaints.services.corrections_plan import merge_plan
from tests.accounts.factories import SubscriberFactory
from tests.complaints.factories import (
    ComplaintFactory,
    StrikeFactory,
)
from tests.complaints.services.builders import (
    T0,
    mailing_with,
    merge,
    move,
    split,
    struck,
)

pytestmark = pytest.mark.django_db


def test_merging_mailings_of_different_subscribers_is_refused(subscriber):
    target = mailing_with(subscriber, complaints=1)
    other = mailing_with(SubscriberFactory(), complaints=1)

    with pytest.raises(ValidationError, match="different subscribers"):
        merge(target, other)

    assert other.complaints.get().mailing_id == other.pk


def test_merging_a_mailing_into_itself_is_refused(subscriber):
    target = mailing_with(subscriber, complaints=1)

    with pytest.raises(ValidationError, match="cannot be merged into itself"):
        merge(target, target)


@pytest.mark.parametrize("held", ["target", "source"])
def test_merging_a_held_batch_is_refused(subscriber, held):
    target = mailing_with(subscriber, complaints=1)
    source = mailing_with(subscriber, complaints=1)
    Mailing.objects.filter(pk=(target if held == "target" else source).pk).update(
        state=Mailing.State.HELD
    )
    target.refresh_from_db()
    source.refresh_from_db()

    with pytest.raises(ValidationError, match="held batch"):
        merge(target, source)


def test_merging_without_sources_or_reason_is_refused(subscriber):
    target = mailing_with(subscriber, complaints=1)
    source = mailing_with(subscriber, complaints=1)

    with pytest.raises(ValidationError, match="Choose the mailing"):
        merge(target)
    with pytest.raises(ValidationError, match="reason"):
        merge(target, source, reason="  ")


def test_a_live_strike_cannot_merge_into_a_mailing_whose_strike_was_revoked(
    subscriber,
):
    target = mailing_with(subscriber, complaints=1)
    StrikeFactory(mailing=target, revoked_at=T0, revoke_reason="appeal upheld")
    source = struck(subscriber)

    with pytest.raises(ValidationError, match=f"merge #{target.pk} into #{source.pk}"):
        merge(target, source)

    assert Strike.objects.get(mailing=source).revoked_at is None


@pytest.mark.parametrize("state", [Mailing.State.COMPROMISED, Mailing.State.DISMISSED])
def test_a_live_strike_cannot_merge_into_a_mailing_closed_without_one(
    subscriber, state
):
    target = mailing_with(subscriber, complaints=1, state=state)
    source = struck(subscriber)

    with pytest.raises(ValidationError, match="cannot take over the live strike"):
        merge(target, source)


def test_a_mailing_merged_away_cannot_be_merged_elsewhere(subscriber):
    first = mailing_with(subscriber, complaints=1)
    second = mailing_with(subscriber, complaints=1)
    source = mailing_with(subscriber, complaints=1)
    merge(first, source)
    source.refresh_from_db()

    with pytest.raises(ValidationError, match=f"was merged into #{first.pk}"):
        merge(second, source)
    with pytest.raises(ValidationError, match=f"use mailing #{first.pk}"):
        merge(source, second)


def test_the_merge_plan_says_what_will_happen_to_the_strikes(subscriber):
    target = struck(subscriber)
    source = struck(subscriber)

    lines = merge_plan(target=target, sources=[source]).describe()

    assert any(f'closed as "merged into #{target.pk}"' in line for line in lines)
    assert any(
        f"strike of mailing #{source.pk} is revoked as a duplicate" in line
        for line in lines
    )


def test_moving_to_a_mailing_of_another_subscriber_is_refused(subscriber):
    origin = mailing_with(subscriber, complaints=2)
    elsewhere = mailing_with(SubscriberFactory(), complaints=1)

    with pytest.raises(ValidationError, match="another subscriber"):
        move(elsewhere, [origin.complaints.first()])


def test_moving_into_or_out_of_a_held_batch_is_refused(subscriber):
    origin = mailing_with(subscriber, complaints=2)
    held = mailing_with(subscriber, state=Mailing.State.HELD)

    with pytest.raises(ValidationError, match="held batch"):
        move(held, [origin.complaints.first()])


def test_moving_nothing_unknown_or_unlinked_reports_is_refused(subscriber):
    target = mailing_with(subscriber, complaints=1)
    loose = ComplaintFactory()

    with pytest.raises(ValidationError, match="Select the complaints or bounces"):
        move(target)
    with pytest.raises(ValidationError, match="On no mailing: complaint"):
        move(target, [loose])
    with pytest.raises(ValidationError, match="No such report"):
        reports_move(
            complaint_ids=[987654],
            bounce_ids=[],
            target=target,
            actor=None,
            reason="x",
        )


def test_splitting_off_every_report_is_refused(subscriber):
    origin = mailing_with(subscriber, complaints=2)

    with pytest.raises(ValidationError, match="only some"):
        split(origin, origin.complaints.all())


def test_splitting_reports_of_another_mailing_is_refused(subscriber):
    origin = mailing_with(subscriber, complaints=2)
    other = mailing_with(subscriber, complaints=2)

    with pytest.raises(ValidationError, match=f"Not on mailing #{origin.pk}"):
        split(origin, [other.complaints.first()])


def test_splitting_a_held_batch_is_refused(subscriber):
    origin = mailing_with(subscriber, complaints=2, state=Mailing.State.HELD)

    with pytest.raises(ValidationError, match="held batch"):
        split(origin, [origin.complaints.first()])
