"""Staff corrections of mailings against PostgreSQL: merge, move, split; strikes
following, counters recomputed from the rows, keys moved, actions written,
refusals, and repeats that change nothing."""

from datetime import timedelta

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import Action, Subscriber
from complaints.models import Complaint, Mailing, MailingKey, Strike
from complaints.services import (
    mailing_merge,
    mailing_split,
    reports_move,
    strike_issue,
)
from complaints.services.corrections_plan import merge_plan
from tests.accounts.factories import ActionFactory, SubscriberFactory
from tests.complaints.factories import (
    BounceFactory,
    ComplaintFactory,
    MailingFactory,
    StrikeFactory,
)

pytestmark = pytest.mark.django_db

T0 = timezone.now().replace(microsecond=0) - timedelta(days=2)


def mailing_with(subscriber, *, complaints=0, hard=0, soft=0, at=T0, **fields):
    """A mailing of ``subscriber`` with linked complaints and bounces at ``at``;
    its counters say so, as ingest would have left them."""
    mailing = MailingFactory(
        subscriber=subscriber,
        first_seen=at,
        last_seen=at,
        complaint_count=complaints,
        hard_bounce_count=hard,
        soft_bounce_count=soft,
        **fields,
    )
    for _ in range(complaints):
        ComplaintFactory(
            subscriber=subscriber,
            mailing=mailing,
            state=Complaint.State.LINKED,
            received_at=at,
            subject=mailing.subject,
        )
    for is_hard, count in ((True, hard), (False, soft)):
        BounceFactory.create_batch(
            count,
            subscriber=subscriber,
            mailing=mailing,
            is_hard=is_hard,
            received_at=at,
        )
    return mailing


def struck(subscriber, *, at=T0, **fields):
    mailing = mailing_with(
        subscriber, complaints=1, at=at, state=Mailing.State.STRUCK, **fields
    )
    StrikeFactory(mailing=mailing, issued_at=at)
    return mailing


def actions(subscriber, kind=None):
    rows = Action.objects.filter(subscriber=subscriber).order_by("pk")
    return list(rows.filter(kind=kind) if kind else rows)


def merge(target, *sources, actor=None, reason="one newsletter"):
    return mailing_merge(target=target, sources=sources, actor=actor, reason=reason)


# Merge: rows, counters, keys, closing, actions


def test_merge_moves_complaints_and_bounces_to_the_target(subscriber, abuse_user):
    target = mailing_with(subscriber, complaints=2)
    source = mailing_with(subscriber, complaints=3, hard=2, soft=1)

    merge(target, source, actor=abuse_user)

    assert target.complaints.count() == 5
    assert target.bounces.count() == 3
    assert not source.complaints.exists()
    assert not source.bounces.exists()


def test_merge_recounts_the_target_from_its_rows(subscriber):
    # Stale counters on purpose: the merge must count rows, not add counters.
    target = mailing_with(subscriber, complaints=1, at=T0)
    Mailing.objects.filter(pk=target.pk).update(complaint_count=40)
    source = mailing_with(subscriber, hard=2, soft=1, at=T0 + timedelta(hours=5))
    ComplaintFactory(
        subscriber=subscriber,
        mailing=source,
        state=Complaint.State.DUPLICATE,
        received_at=T0 + timedelta(hours=6),
    )
    ComplaintFactory(
        subscriber=subscriber,
        mailing=source,
        state=Complaint.State.LINKED,
        is_forged=True,
        received_at=T0 + timedelta(hours=7),
    )

    merged = merge(target, source)

    assert merged.complaint_count == 1  # the duplicate and the forged do not count
    assert (merged.hard_bounce_count, merged.soft_bounce_count) == (2, 1)
    assert merged.first_seen == T0
    assert merged.last_seen == T0 + timedelta(hours=7)
    assert merged.signals["reports"] == 6
    assert merged.signals["forged"] == 1


def test_merge_window_uses_the_feedback_reports_arrival_date(subscriber):
    target = mailing_with(subscriber, complaints=1, at=T0)
    source = MailingFactory(subscriber=subscriber, first_seen=T0, last_seen=T0)
    ComplaintFactory(
        subscriber=subscriber,
        mailing=source,
        state=Complaint.State.LINKED,
        received_at=T0 + timedelta(hours=9),
        arrival_date=T0 - timedelta(hours=3),
    )

    merged = merge(target, source)

    assert merged.first_seen == T0 - timedelta(hours=3)
    assert merged.last_seen == T0


def test_merge_gathers_the_subject_variants_of_both_oldest_first(subscriber):
    target = mailing_with(subscriber, complaints=1, subject="Spring sale", at=T0)
    source = mailing_with(
        subscriber,
        complaints=1,
        subject="Re: Spring sale #4411",
        at=T0 + timedelta(hours=1),
    )

    merged = merge(target, source)

    assert merged.subject_variants == ["spring sale", "spring sale #4411"]
    source.refresh_from_db()
    assert source.subject_variants == []


def test_merge_moves_every_key_of_the_sources(subscriber):
    target = mailing_with(subscriber, complaints=1)
    source = mailing_with(subscriber, complaints=1)
    keys = [
        MailingKey.objects.create(mailing=source, kind=kind, value=f"{kind}-1")
        for kind in MailingKey.Kind.values
    ]

    merge(target, source)

    assert {
        k.mailing_id for k in MailingKey.objects.filter(pk__in=[k.pk for k in keys])
    } == {target.pk}


def test_merged_source_is_closed_as_merged_never_deleted(subscriber, abuse_user):
    target = mailing_with(subscriber, complaints=1)
    source = mailing_with(subscriber, complaints=2, hard=1)

    merge(target, source, actor=abuse_user)

    source.refresh_from_db()
    assert source.state == Mailing.State.DISMISSED
    assert source.signals["merged_into"] == target.pk
    assert (source.complaint_count, source.hard_bounce_count) == (0, 0)
    dismissal = Action.objects.get(mailing=source, kind=Action.Kind.MAILING_DISMISSED)
    assert dismissal.reason == f"merged into #{target.pk}"
    assert dismissal.actor == abuse_user


def test_merge_writes_one_merged_action_on_the_target(subscriber, abuse_user):
    target = mailing_with(subscriber, complaints=1)
    first = mailing_with(subscriber, complaints=2)
    second = mailing_with(subscriber, hard=1)

    merge(target, first, second, actor=abuse_user, reason="same campaign")

    (merged,) = actions(subscriber, Action.Kind.MAILING_MERGED)
    assert merged.mailing == target
    assert merged.actor == abuse_user
    assert f"#{first.pk}, #{second.pk} merged into #{target.pk}" in merged.reason
    assert "2 complaint(s), 1 bounce(s)" in merged.reason
    assert merged.reason.endswith("same campaign")
    assert len(actions(subscriber, Action.Kind.MAILING_DISMISSED)) == 2


def test_merge_adds_up_outbound_recipient_counts(subscriber):
    outbound = Mailing.RecipientSource.OUTBOUND
    target = mailing_with(
        subscriber, hard=1, recipient_count=300, recipient_source=outbound
    )
    source = mailing_with(
        subscriber, hard=1, recipient_count=200, recipient_source=outbound
    )

    merged = merge(target, source)

    assert (merged.recipient_count, merged.recipient_source) == (500, outbound)


def test_merge_with_a_part_of_unknown_recipients_makes_the_count_unknown(subscriber):
    target = mailing_with(
        subscriber,
        hard=1,
        recipient_count=300,
        recipient_source=Mailing.RecipientSource.OUTBOUND,
    )
    source = mailing_with(subscriber, hard=1)

    merged = merge(target, source)

    assert merged.recipient_count is None
    assert merged.recipient_source == Mailing.RecipientSource.REPORTS


def test_merge_carries_the_compromise_suspicion_to_the_target(subscriber):
    target = mailing_with(subscriber, complaints=1)
    source = mailing_with(
        subscriber,
        complaints=1,
        is_likely_compromised=True,
        compromise_reason="random per-message subjects",
    )

    merged = merge(target, source)

    assert merged.is_likely_compromised
    assert merged.compromise_reason == "random per-message subjects"


# Merge: strikes follow


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


def test_merge_applies_the_policy_to_the_merged_mailing(subscriber, settings):
    settings.ABUSE_COMPLAINTS_PER_STRIKE = 3
    settings.ABUSE_AUTO_STRIKE = True
    target = mailing_with(subscriber, complaints=2)
    source = mailing_with(subscriber, complaints=1)

    merged = merge(target, source)

    assert merged.state == Mailing.State.STRUCK
    assert Strike.objects.get(mailing=merged).issued_by is None


# Merge: what is refused, and repeats


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


def test_repeating_a_merge_writes_nothing(subscriber, abuse_user):
    target = struck(subscriber)
    source = struck(subscriber)
    merge(target, source, actor=abuse_user)
    source.refresh_from_db()
    before = (Action.objects.count(), list(Mailing.objects.values().order_by("pk")))

    again = merge(target, source, actor=abuse_user)

    assert again == target
    assert Action.objects.count() == before[0]
    assert list(Mailing.objects.values().order_by("pk")) == before[1]


def test_merge_locks_the_subscriber_then_the_mailings_in_id_order(subscriber):
    target = mailing_with(subscriber, complaints=1)
    source = mailing_with(subscriber, complaints=1)

    with CaptureQueriesContext(connection) as queries:
        merge(source, target)

    locks = [q["sql"] for q in queries if "FOR NO KEY UPDATE" in q["sql"]]
    assert '"accounts_subscriber"' in locks[0]
    assert '"complaints_mailing"' in locks[1]
    assert "ORDER BY" in locks[1] and '"id" ASC' in locks[1]


def test_the_merge_plan_says_what_will_happen_to_the_strikes(subscriber):
    target = struck(subscriber)
    source = struck(subscriber)

    lines = merge_plan(target=target, sources=[source]).describe()

    assert any(f'closed as "merged into #{target.pk}"' in line for line in lines)
    assert any(
        f"strike of mailing #{source.pk} is revoked as a duplicate" in line
        for line in lines
    )


# Move


def move(target, complaints=(), bounces=(), reason="wrong campaign"):
    return reports_move(
        complaint_ids=[c.pk for c in complaints],
        bounce_ids=[b.pk for b in bounces],
        target=target,
        actor=None,
        reason=reason,
    )


def test_move_takes_the_selected_reports_and_recounts_both_mailings(subscriber):
    origin = mailing_with(subscriber, complaints=3, hard=2)
    target = mailing_with(subscriber, complaints=1)
    picked = list(origin.complaints.order_by("pk")[:2])
    bounce = origin.bounces.first()

    moved = move(target, picked, [bounce])

    origin.refresh_from_db()
    assert (origin.complaint_count, origin.hard_bounce_count) == (1, 1)
    assert (moved.complaint_count, moved.hard_bounce_count) == (3, 1)
    assert set(moved.complaints.values_list("pk", flat=True)) >= {c.pk for c in picked}
    assert origin.state == Mailing.State.OPEN


def test_move_writes_an_action_on_the_target_and_on_each_origin(subscriber):
    first = mailing_with(subscriber, complaints=2)
    second = mailing_with(subscriber, hard=2)
    target = mailing_with(subscriber, complaints=1)

    move(target, [first.complaints.first()], [second.bounces.first()])

    moved = actions(subscriber, Action.Kind.REPORTS_MOVED)
    assert {a.mailing_id for a in moved} == {first.pk, second.pk, target.pk}
    on_target = next(a for a in moved if a.mailing_id == target.pk)
    assert "1 complaint(s) and 1 bounce(s) moved here" in on_target.reason
    assert on_target.reason.endswith("wrong campaign")
    on_first = next(a for a in moved if a.mailing_id == first.pk)
    assert f"1 complaint(s) and 0 bounce(s) moved to #{target.pk}" in on_first.reason


def test_move_takes_the_message_id_keys_only_the_moved_reports_carried(subscriber):
    origin = MailingFactory(subscriber=subscriber, first_seen=T0, last_seen=T0)
    target = mailing_with(subscriber, complaints=1)
    moving = ComplaintFactory(
        subscriber=subscriber, mailing=origin, state="linked", message_id="<a@x>"
    )
    ComplaintFactory(
        subscriber=subscriber, mailing=origin, state="linked", message_id="<b@x>"
    )
    shared = ComplaintFactory(
        subscriber=subscriber, mailing=origin, state="linked", message_id="<b@x>"
    )
    for value in ("<a@x>", "<b@x>"):
        MailingKey.objects.create(mailing=origin, kind="message_id", value=value)
    queue = MailingKey.objects.create(mailing=origin, kind="queue_id", value="4XyZ")

    move(target, [moving, shared])

    keys = dict(MailingKey.objects.values_list("value", "mailing_id"))
    assert keys["<a@x>"] == target.pk
    assert keys["<b@x>"] == origin.pk  # a report left behind still carries it
    assert MailingKey.objects.get(pk=queue.pk).mailing_id == origin.pk


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


def test_repeating_a_move_writes_nothing(subscriber):
    origin = mailing_with(subscriber, complaints=2)
    target = mailing_with(subscriber, complaints=1)
    picked = [origin.complaints.first()]
    move(target, picked)
    count = Action.objects.count()

    again = move(target, picked)

    assert again == target
    assert Action.objects.count() == count


# Split


def split(mailing, complaints=(), bounces=(), reason="two campaigns"):
    return mailing_split(
        mailing=mailing,
        complaint_ids=[c.pk for c in complaints],
        bounce_ids=[b.pk for b in bounces],
        actor=None,
        reason=reason,
    )


def test_split_puts_the_selected_reports_in_a_new_mailing(subscriber):
    origin = mailing_with(subscriber, complaints=2, hard=2, kind="outbreak")
    part = ComplaintFactory(
        subscriber=subscriber,
        mailing=origin,
        state="linked",
        subject="Cheap watches",
        header_from="Shop <shop@isp.example>",
        received_at=T0 + timedelta(hours=1),
    )
    bounce = origin.bounces.first()

    new = split(origin, [part], [bounce])

    assert new.pk != origin.pk
    assert new.subscriber == subscriber
    assert (new.subject, new.normalized_subject) == ("Cheap watches", "cheap watches")
    assert new.sender == "Shop <shop@isp.example>"
    assert new.source == Mailing.Source.MANUAL
    assert new.kind == "outbreak"
    assert new.signals["split_from"] == origin.pk
    assert (new.complaint_count, new.hard_bounce_count) == (1, 1)
    assert new.first_seen == T0 and new.last_seen == T0 + timedelta(hours=1)
    origin.refresh_from_db()
    assert (origin.complaint_count, origin.hard_bounce_count) == (2, 1)


def test_split_writes_an_action_on_both_mailings(subscriber):
    origin = mailing_with(subscriber, complaints=3)

    new = split(origin, [origin.complaints.first()])

    split_actions = actions(subscriber, Action.Kind.MAILING_SPLIT)
    assert {a.mailing_id for a in split_actions} == {origin.pk, new.pk}
    assert all(a.reason.endswith("two campaigns") for a in split_actions)


def test_split_leaves_the_strike_on_the_original(subscriber):
    origin = struck(subscriber)
    ComplaintFactory(subscriber=subscriber, mailing=origin, state="linked")

    new = split(origin, [origin.complaints.first()])

    assert Strike.objects.get(subscriber=subscriber).mailing_id == origin.pk
    assert new.state == Mailing.State.OPEN


def test_a_split_off_bounce_storm_is_judged_at_once(subscriber, settings):
    settings.ABUSE_BOGUS_MIN = 3
    origin = mailing_with(subscriber, complaints=1, hard=3)

    new = split(origin, bounces=origin.bounces.all())

    assert new.state == Mailing.State.STRUCK
    assert Strike.objects.get(mailing=new).reason == Strike.Reason.BOGUS_ADDRESSES
    subscriber.refresh_from_db()
    assert subscriber.status == Subscriber.Status.SUSPENDED


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


def test_repeating_a_split_returns_the_same_new_mailing_and_writes_nothing(
    subscriber,
):
    origin = mailing_with(subscriber, complaints=3)
    picked = [origin.complaints.first()]
    new = split(origin, picked)
    counts = (Action.objects.count(), Mailing.objects.count())

    again = split(origin, picked)

    assert again == new
    assert (Action.objects.count(), Mailing.objects.count()) == counts


def test_corrections_then_a_strike_by_staff_still_work(subscriber, abuse_user):
    target = mailing_with(subscriber, complaints=1)
    source = mailing_with(subscriber, complaints=1)
    merged = merge(target, source)

    strike = strike_issue(mailing=merged, actor=abuse_user)

    assert strike.mailing == merged
    assert "drew 2 complaint(s)" in actions(subscriber, Action.Kind.STRIKE)[0].reason
