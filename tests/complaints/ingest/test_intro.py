"""complaints.ingest.intro: the date and sender of a forwarded or quoted message."""

import pytest

from complaints.ingest.intro import forward_date_text, quoted_sender


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("x\nDate: Fri, Sep 4, 2026 at 1:53 PM\n", "Fri, Sep 4, 2026 at 1:53 PM"),
        (
            "Sent: Friday, September 4, 2026 1:58 PM\n",
            "Friday, September 4, 2026 1:58 PM",
        ),
        (
            "Gesendet: Freitag, 4. September 2026 13:58\n",
            "Freitag, 4. September 2026 13:58",
        ),
        (
            "Envoyé : vendredi 4 septembre 2026 13:58\n",
            "vendredi 4 septembre 2026 13:58",
        ),
        (
            "Am 04.09.2026 um 13:53 schrieb Shop <news@shop.example>:\n",
            "04.09.2026 um 13:53",
        ),
        (
            "Le ven. 4 sept. 2026 à 13:53, Shop <n@s.example> a écrit :\n",
            "ven. 4 sept. 2026 à 13:53, Shop <n@s.example>",
        ),
        ("Hello, no forward here.\n", None),
    ],
)
def test_forward_date_lines_of_common_clients_are_found(text, expected):
    assert forward_date_text(text) == expected


@pytest.mark.parametrize(
    ("line", "sender"),
    [
        (
            "Am 27.08.2026 um 03:47 schrieb García Fitness <news@garcia.example>:",
            "news@garcia.example",
        ),
        (
            "Op vr 4 sep. 2026 om 13:53 schreef Shop <news@shop.example>:",
            "news@shop.example",
        ),
        (
            "On Fri, Sep 4, 2026 at 1:53 PM Shop <news@shop.example> wrote:",
            "news@shop.example",
        ),
        (
            "El vie, 4 sept 2026 a las 13:53, Shop (<news@shop.example>) escribió:",
            "news@shop.example",
        ),
        ("On Friday someone wrote:", None),
    ],
)
def test_a_replys_attribution_line_names_the_quoted_sender(line, sender):
    found = quoted_sender(f"Stop this!\n\n{line}\n\n> quoted spam\n")
    assert (found.sender if found else None) == sender
