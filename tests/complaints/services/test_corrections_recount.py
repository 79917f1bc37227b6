"""A mailing's counters, window, subject variants and signals counted again from
its rows, as every correction does for the mailings it touched."""

from datetime import timedelta

import pytest

from complaints.models import Complaint, Mailing
from complaints.services.corrections_recount import (
    SUBJECT_VARIANTS_CAP,
    mailings_recount,
)
from tests.complaints.factories import BounceFactory, ComplaintFactory, MailingFactory
from tests.complaints.services.builders import T0, mailing_with, merge

pytestmark = pytest.mark.django_db


def recounted(mailing) -> Mailing:
    mailings_recount(mailing_ids=[mailing.pk])
    mailing.refresh_from_db()
    return mailing


def test_counts_come_from_the_rows_not_from_the_stale_counters(subscriber):
    mailing = mailing_with(subscriber, complaints=2, hard=3, soft=1)
    Mailing.objects.filter(pk=mailing.pk).update(
        complaint_count=40, hard_bounce_count=0, soft_bounce_count=9
    )

    mailing = recounted(mailing)

    assert mailing.complaint_count == 2
    assert (mailing.hard_bounce_count, mailing.soft_bounce_count) == (3, 1)


def test_only_linked_unforged_complaints_and_unforged_bounces_count(subscriber):
    mailing = mailing_with(subscriber, complaints=1)
    for state in (Complaint.State.DUPLICATE, Complaint.State.DISMISSED):
        ComplaintFactory(subscriber=subscriber, mailing=mailing, state=state)
    ComplaintFactory(
        subscriber=subscriber, mailing=mailing, state="linked", is_forged=True
    )
    BounceFactory(subscriber=subscriber, mailing=mailing, is_forged=True)

    mailing = recounted(mailing)

    assert mailing.complaint_count == 1
    assert mailing.hard_bounce_count == 0
    assert mailing.signals["forged"] == 2
    assert mailing.signals["reports"] == 5


def test_window_spans_the_reports_by_arrival_date_else_by_receipt(subscriber):
    mailing = MailingFactory(
        subscriber=subscriber, first_seen=T0 - timedelta(days=9), last_seen=T0
    )
    ComplaintFactory(
        subscriber=subscriber,
        mailing=mailing,
        state="linked",
        received_at=T0 + timedelta(hours=9),
        arrival_date=T0 - timedelta(hours=3),
    )
    BounceFactory(
        subscriber=subscriber, mailing=mailing, received_at=T0 + timedelta(hours=4)
    )

    mailing = recounted(mailing)

    assert mailing.first_seen == T0 - timedelta(hours=3)
    assert mailing.last_seen == T0 + timedelta(hours=4)


def test_a_mailing_left_without_reports_keeps_its_window(subscriber):
    mailing = MailingFactory(
        subscriber=subscriber, first_seen=T0, last_seen=T0 + timedelta(hours=2)
    )

    mailing = recounted(mailing)

    assert (mailing.first_seen, mailing.last_seen) == (T0, T0 + timedelta(hours=2))
    assert mailing.subject_variants == []
    assert mailing.complaint_count == 0


def test_subject_variants_are_normalised_distinct_oldest_first_and_capped(
    subscriber,
):
    mailing = MailingFactory(subscriber=subscriber, first_seen=T0, last_seen=T0)
    subjects = ["Spring sale", "RE: Spring sale", "Fwd: Spring sale #4411"]
    subjects += [f"Offer {n}" for n in range(SUBJECT_VARIANTS_CAP + 5)]
    for n, subject in enumerate(subjects):
        ComplaintFactory(
            subscriber=subscriber,
            mailing=mailing,
            subject=subject,
            received_at=T0 + timedelta(minutes=n),
        )

    variants = recounted(mailing).subject_variants

    # Tracking numbers and numbered offers fold into one variant each.
    assert variants == ["spring sale", "offer"]


def test_subject_variants_are_capped(subscriber):
    mailing = MailingFactory(subscriber=subscriber, first_seen=T0, last_seen=T0)
    for n in range(SUBJECT_VARIANTS_CAP + 5):
        ComplaintFactory(
            subscriber=subscriber,
            mailing=mailing,
            subject=f"Offer {'x' * (n + 1)}",
            received_at=T0 + timedelta(minutes=n),
        )

    assert len(recounted(mailing).subject_variants) == SUBJECT_VARIANTS_CAP


def test_signals_say_who_sent_from_where(subscriber):
    mailing = MailingFactory(subscriber=subscriber, first_seen=T0, last_seen=T0)
    for n, ip in enumerate(["192.0.2.7", "192.0.2.99", "2001:db8:1:2::5"]):
        ComplaintFactory(
            subscriber=subscriber,
            mailing=mailing,
            header_from=f"Shop <Shop{n % 2}@isp.example>",
            login="Shop",
            source_ip=ip,
        )

    signals = recounted(mailing).signals

    assert signals["senders"] == ["shop0@isp.example", "shop1@isp.example"]
    assert signals["logins"] == ["shop"]
    assert signals["client_networks"] == ["192.0.2.0/24", "2001:db8:1::/48"]


def test_the_correction_markers_survive_a_recount(subscriber):
    mailing = mailing_with(subscriber, complaints=1, signals={"split_from": 7})

    assert recounted(mailing).signals["split_from"] == 7


def test_a_merge_recounts_both_the_target_and_the_source(subscriber):
    target = mailing_with(subscriber, complaints=1, subject="Spring sale", at=T0)
    source = mailing_with(
        subscriber,
        complaints=2,
        hard=1,
        subject="Re: Spring sale #4411",
        at=T0 + timedelta(hours=1),
    )

    merged = merge(target, source)

    assert (merged.complaint_count, merged.hard_bounce_count) == (3, 1)
    assert merged.subject_variants == ["spring sale"]
    assert merged.last_seen == T0 + timedelta(hours=1)
    source.refresh_from_db()
    assert (source.complaint_count, source.hard_bounce_count) == (0, 0)
    assert source.subject_variants == []
