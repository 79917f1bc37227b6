"""Staff corrections of mailings against PostgreSQL: merge, move and split move
the rows and keys, close what they empty, write their actions, apply the policy,
lock in the desk's order, and change nothing when repeated."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import Action, Subscriber
from complaints.models import Complaint, Mailing, MailingKey, Strike
from complaints.services import (
    strike_issue,
)
from tests.complaints.factories import (
    ComplaintFactory,
    MailingFactory,
)
from tests.complaints.services.builders import (
    T0,
    actions,
    mailing_with,
    merge,
    move,
    split,
    struck,
)

pytestmark = pytest.mark.django_db


def test_merge_moves_complaints_and_bounces_to_the_target(subscriber, abuse_user):
    target = mailing_with(subscriber, complaints=2)
    source = mailing_with(subscriber, complaints=3, hard=2, soft=1)

    merge(target, source, actor=abuse_user)

    assert target.complaints.count() == 5
    assert target.bounces.count() == 3
    assert not source.complaints.exists()
    assert not source.bounces.exists()


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


def test_merge_applies_the_policy_to_the_merged_mailing(subscriber, settings):
    settings.ABUSE_COMPLAINTS_PER_STRIKE = 3
    settings.ABUSE_AUTO_STRIKE = True
    target = mailing_with(subscriber, complaints=2)
    source = mailing_with(subscriber, complaints=1)

    merged = merge(target, source)

    assert merged.state == Mailing.State.STRUCK
    assert Strike.objects.get(mailing=merged).issued_by is None


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


def test_repeating_a_move_writes_nothing(subscriber):
    origin = mailing_with(subscriber, complaints=2)
    target = mailing_with(subscriber, complaints=1)
    picked = [origin.complaints.first()]
    move(target, picked)
    count = Action.objects.count()

    again = move(target, picked)

    assert again == target
    assert Action.objects.count() == count


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
    assert "drew 2 complaints" in actions(subscriber, Action.Kind.STRIKE)[0].reason


def test_a_report_that_lands_on_a_merged_mailing_later_can_follow_it(subscriber):
    target = mailing_with(subscriber, complaints=1)
    source = mailing_with(subscriber, complaints=1)
    merge(target, source)
    late = ComplaintFactory(subscriber=subscriber, mailing=source, state="linked")

    again = merge(target, source)
    moved = Complaint.objects.get(pk=late.pk)

    assert moved.mailing_id == again.pk == target.pk
    assert again.complaint_count == 3
