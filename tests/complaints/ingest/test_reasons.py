"""The phrase table names the reason a diagnostic's wording gives."""

import pytest

from complaints.ingest import reasons


def test_every_reason_class_is_one_of_the_documented_names():
    named = {reason for reason, _detail, _pattern in reasons._RULES_SPEC}
    local = {
        reason
        for reason, _detail, _pattern in (
            reasons._LOCAL_RULES_SPEC + reasons._CJK_RULES_SPEC
        )
    }
    assert named | local <= set(reasons.REASONS)


def test_only_address_reasons_are_hard():
    assert reasons.HARD_REASONS == {
        "user_unknown",
        "bad_domain",
        "bad_syntax",
        "mailbox_disabled",
    }


@pytest.mark.parametrize(
    "text",
    [
        "553 5.1.8 <a@example.com>: Sender address rejected: Domain not found",
        "550 5.7.1 <a@example.com>: Sender address rejected: Access denied",
        "550-Verification failed for <a@example.com> 550-No such user here",
        "550 Sender verify failed",
        "550 5.1.0 <a@example.com> sender rejected: user does not exist",
    ],
)
def test_a_refused_sender_is_policy_whatever_follows(text):
    assert reasons.match_reason(text) == ("policy", "7.1")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("554 5.7.1 <a@example.org>: Recipient address rejected: Access denied", None),
        (
            "550 5.4.1 Recipient address rejected: Access denied. AS(201806281)",
            ("user_unknown", "1.1"),
        ),
        (
            "550 5.4.1 [a@example.org]: Recipient address rejected: Access denied",
            ("user_unknown", "1.1"),
        ),
    ],
)
def test_access_denied_means_unknown_only_in_exchange_online_wording(text, expected):
    found = reasons.match_reason(text)
    assert (found if found is None or found[0] == "user_unknown" else None) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Почтовый ящик не существует.", "user_unknown"),
        ("Der Empfänger existiert nicht.", "user_unknown"),
        ("Utilisateur inconnu", "user_unknown"),
        ("指定されたメールアドレスは存在しません。", "user_unknown"),
        ("收件人不存在", "user_unknown"),
        ("La boîte aux lettres du destinataire est pleine.", "mailbox_full"),
        ("Das Postfach ist voll.", "mailbox_full"),
        ("Ящик переполнен", "mailbox_full"),
        ("Die Domain existiert nicht.", "bad_domain"),
        ("Adresse inconnue", "user_unknown"),
        ("La cuenta no existe", "user_unknown"),
        ("Das Konto wurde deaktiviert.", "mailbox_disabled"),
    ],
)
def test_localised_wording_names_the_reason(text, expected):
    assert reasons.match_reason(text)[0] == expected


def test_english_wording_wins_over_localised():
    assert reasons.match_reason("552 Mailbox full / Benutzer unbekannt")[0] == (
        "mailbox_full"
    )


def test_ascii_localised_wording_is_read_and_plain_text_is_not():
    assert reasons.match_reason("Benutzer unbekannt") == ("user_unknown", "1.1")
    assert reasons.match_reason("nothing to see here") is None
