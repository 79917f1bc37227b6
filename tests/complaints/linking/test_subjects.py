"""complaints.linking.subjects: one newsletter's subject variants stay together."""

import pytest

from complaints.linking.subjects import subject_key, subjects_similar


@pytest.mark.parametrize(
    "variant",
    [
        "Spring Sale",
        "Re: AW: Spring Sale [#48213]",
        "Spring Sale No. 4711",
        "Spring Sale Nr. 12",
        "WG: Spring sale Ref: AB-1234",
        "Fwd: Spring Sale - Order 998877",
        "TR: RV: SV: Antw: spring sale",
        "Anna, Spring Sale",
        "Hi Bob, Spring Sale!",
        "Hallo Peter: Spring Sale",
        "Spring Sale, Anna!",
        "[SPAM] Spring Sale (12345)",
        "Spring Sale #A-99812",
    ],
)
def test_subject_variations_of_one_mailing_share_a_key(variant):
    assert subject_key(variant) == "spring sale"


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("your exclusive offer today", "your exclusive offers today"),
        ("big winter sale starts now", "winter sale starts now"),
        ("weekly deals from the shop", "weekly deals from our shop"),
    ],
)
def test_near_subjects_are_similar(first, second):
    assert subjects_similar(subject_key(first), subject_key(second))


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("cheap meds online", "spring sale"),
        ("your parcel is waiting", "invoice overdue"),
        ("meet singles tonight", "crypto profits guaranteed"),
        ("", "spring sale"),
    ],
)
def test_unrelated_subjects_are_not_similar(first, second):
    assert not subjects_similar(subject_key(first), subject_key(second))


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("Liebe/r Sven, nur heute Rabatt", "Nur heute Rabatt"),
        ("Cher(e) Anna, nos nouveautés", "Nos nouveautés"),
        ("September newsletter ID bbefc", "September newsletter"),
    ],
)
def test_unknown_greetings_and_suffixes_around_the_shared_words_still_match(
    first, second
):
    assert subjects_similar(subject_key(first), subject_key(second))


@pytest.mark.parametrize(
    "variant",
    [
        "Reminder: Spring Sale",
        "Last call: Spring Sale [#4821]",
        "Erinnerung: Spring Sale",
        "Rappel : Spring Sale",
        "Hi Bob! Reminder: Spring Sale",
        "Fwd: Recordatorio: Spring Sale",
    ],
)
def test_resent_newsletter_reminder_labels_leave_the_key(variant):
    assert subject_key(variant) == "spring sale"


@pytest.mark.parametrize(
    "variant",
    [
        "Spring Sale, Anna! Nr. 4711",
        "Spring Sale, Anna! [#48213]",
        "Spring Sale – Joaquín (Ref. 12345)",
    ],
)
def test_name_before_tracking_suffix_leaves_the_key(variant):
    assert subject_key(variant) == "spring sale"


@pytest.mark.parametrize(
    ("cut", "whole"),
    [
        ("Our autumn sale sta…", "Our autumn sale starts now"),
        ("September ne...", "September newsletter"),
        ("Hi Anna! Große Räumung – alles muss r", "Große Räumung – alles muss raus"),
        ("Exclusive for Anna: Our autumn sale st", "Our autumn sale starts now"),
        (
            "{Spam?} Nur für Greta: Einladung zum Tag der",
            "Einladung zum Tag der offenen Tür",
        ),
        # Cut after a long greeting, a word or so is left.
        ("Liebe/r Annegret – Wichtige Ä", "Wichtige Änderung Ihrer Bestellung"),
        ("Hola Maximiliano, Boletín", "Boletín de septiembre"),
    ],
)
def test_truncated_subject_matches_the_subject_it_begins(cut, whole):
    assert subjects_similar(subject_key(cut), subject_key(whole))
    assert subjects_similar(subject_key(whole), subject_key(cut))


@pytest.mark.parametrize(
    ("cut", "whole"),
    [
        # Too little is left to say which subject it began.
        ("New a…", "New arrivals for you"),
        ("Our…", "Our autumn sale starts now"),
        # The other subject's start is not where this one ends.
        ("Autumn sale ends", "Our autumn sale starts now"),
    ],
)
def test_truncated_subject_needs_enough_of_the_other(cut, whole):
    assert not subjects_similar(subject_key(cut), subject_key(whole))


@pytest.mark.parametrize(
    "variant",
    [
        "{Spam?} Spring Sale",
        "{SPAM} Spring Sale",
        "{Disarmed} Re: Spring Sale",
        # SpamAssassin's default rewrite_header.
        "*****SPAM***** Spring Sale",
    ],
)
def test_filter_tags_leave_the_key(variant):
    assert subject_key(variant) == "spring sale"


@pytest.mark.parametrize(
    ("first", "second"),
    [
        (
            "[EXT] Neuheiten im Sortiment für Sie",
            "Nur für Wiebke: Neuheiten im Sortiment",
        ),
        (
            "Große Räumung – alles muss raus, Greta-Marie!!",
            "Nur für Marie: Große Räumung – alles muss raus",
        ),
    ],
)
def test_different_words_around_one_subject_still_match(first, second):
    assert subjects_similar(subject_key(first), subject_key(second))


@pytest.mark.parametrize(
    ("first", "second"),
    [
        # Two words in common are a phrase, not a subject.
        ("Spring sale for members", "Winter catalogue for members only today"),
        ("Your parcel is on its way", "Your account is on hold now"),
    ],
)
def test_a_shared_phrase_is_not_a_shared_subject(first, second):
    assert not subjects_similar(subject_key(first), subject_key(second))
