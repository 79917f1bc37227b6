"""Subjects as senders and mail clients really produce them.

A campaign has one base subject; every copy may carry a tracking number or
reference suffix, a greeting with the recipient's name, and an encoded-word
spelling (RFC 2047, B or Q). Whoever forwards it adds a reply or forward prefix
in the language of their mail client.
"""

import base64
import random

from simulator.names import SPAM_SUBJECTS

# fmt: off
CAMPAIGN_SUBJECTS = {
    "en": ("Our autumn sale starts now", "September newsletter", "Last chance: 30% off",
           "New arrivals for you", "Your invitation to our open day",
           "Weekend special offers", "Important update about your order"),
    "de": ("Unser Herbstangebot für Sie", "Newsletter September", "Nur heute: 30 % Rabatt",
           "Neuheiten im Sortiment", "Einladung zum Tag der offenen Tür",
           "Große Räumung – alles muss raus", "Wichtige Änderung Ihrer Bestellung"),
    "fr": ("Les soldes d'automne commencent", "Lettre d'information de septembre",
           "Dernière chance : -30 %", "Nouveautés pour vous", "Invitation : journée portes ouvertes"),
    "es": ("Empiezan las rebajas de otoño", "Boletín de septiembre",
           "Última oportunidad: 30 % de descuento", "Novedades para usted"),
    "nl": ("Onze herfstuitverkoop begint", "Nieuwsbrief september",
           "Laatste kans: 30% korting", "Nieuw binnen voor u"),
}
GREETINGS = {
    "en": ("{name}, {s}", "Hi {name}! {s}", "Dear {name}: {s}", "{s}, {name}!",
           "Exclusive for {name}: {s}"),
    "de": ("Hallo {name}, {s}", "{name}: {s}", "Liebe/r {name} – {s}", "{s}, {name}!",
           "Nur für {name}: {s}"),
    "fr": ("Bonjour {name}, {s}", "{name}, {s}", "{s}, {name} !"),
    "es": ("Hola {name}, {s}", "{name}: {s}", "{s}, {name}"),
    "nl": ("Beste {name}, {s}", "Hallo {name}: {s}", "{s}, {name}!"),
}
# What a newsletter tool puts before a re-sent issue's subject.
REMINDERS = {
    "en": ("Reminder: ", "Last call: ", "In case you missed it: "),
    "de": ("Erinnerung: ", "Nochmal für Sie: "),
    "fr": ("Rappel : ", "Dernier rappel : "),
    "es": ("Recordatorio: ", "Por si te lo perdiste: "),
    "nl": ("Herinnering: ", "Nog even: "),
}
# Tags the recipient's own filters put before a subject, before anyone reports it.
FILTER_TAGS = ("[EXT] ", "[External] ", "[SPAM] ", "*****SPAM***** ",
               "[Suspected Spam] ", "{Spam?} ", "[Marketing] ", "[Werbung] ")
# Reply and forward prefixes by client language (Outlook, Thunderbird, Apple Mail...).
PREFIXES = {
    "en": ("Fwd: ", "Fw: ", "FW: ", "Re: ", "Fwd: Re: "),
    "de": ("WG: ", "AW: ", "Fwd: ", "WG: AW: "),
    "fr": ("TR: ", "Fwd: ", "RE: ", "Tr : "),
    "es": ("RV: ", "Fwd: ", "RE: "),
    "nl": ("Antw: ", "Doorst: ", "FW: "),
    "sv": ("SV: ", "VB: "),
}
# fmt: on


def campaign_subject(rng: random.Random, language: str) -> str:
    return rng.choice(CAMPAIGN_SUBJECTS[language])


def copy_subject(
    rng: random.Random, base: str, *, style: str, recipient_name: str, language: str
) -> tuple[str, list[str]]:
    """One copy's subject and the tags of the variation applied."""
    tags = []
    subject = base
    if style in ("greeting", "both") and rng.random() < 0.8:
        subject = rng.choice(GREETINGS[language]).format(name=recipient_name, s=base)
        tags.append("subject_greeting")
    if style in ("tracking", "both") and rng.random() < 0.85:
        n = rng.randint(10000, 999999)
        suffix = rng.choice(
            (
                f" [#{n}]",
                f" [ID:{n:x}]",
                f" #{n}",
                f" (Ref. {n})",
                f" - No. {n}",
                f" Nr. {n}",
                f" Order {n}",
                f" ref:{n:08d}",
                f" [{rng.choice('ABCDEFGH')}{n}]",
            )
        )
        subject = subject + suffix
        tags.append("subject_tracking")
    return subject, tags


def resend_prefix(rng: random.Random, language: str) -> str:
    """What a re-sent issue puts before its subject: nothing, or a reminder."""
    if rng.random() < 0.5:
        return ""
    return rng.choice(REMINDERS[language])


def receiving_side(rng: random.Random, subject: str) -> tuple[str, list[str]]:
    """The subject as the recipient's system stored it: now and then with a
    filter tag before it, or cut short (ticket systems and some mobile clients
    keep 40 or 45 characters, often mid-word)."""
    tags = []
    if rng.random() < 0.05:
        subject = rng.choice(FILTER_TAGS) + subject
        tags.append("subject_filter_tag")
    if len(subject) > 40 and rng.random() < 0.06:
        cut = subject[: rng.choice((40, 45))].rstrip()
        subject = cut + rng.choice(("…", "...", ""))
        tags.append("subject_truncated")
    return subject, tags


def forward_prefix(rng: random.Random, language: str) -> str:
    if rng.random() < 0.08:
        return rng.choice(PREFIXES["sv"])
    return rng.choice(PREFIXES[language])


def encode_header(rng: random.Random, text: str, *, force: str = "") -> tuple[str, str]:
    """The header spelling of ``text``: plain ASCII when it is, else RFC 2047
    encoded words (B or Q, UTF-8 or Latin-1), folded as clients fold them.
    Returns the value and the encoding used ("", "b" or "q")."""
    needs = any(ord(c) > 127 for c in text)
    kind = force or ("" if not needs else rng.choice(("b", "q")))
    if not needs and not force:
        return text, ""
    charset = "utf-8"
    if kind == "q" and all(ord(c) < 256 for c in text) and rng.random() < 0.5:
        charset = "iso-8859-1"
    data = text.encode(charset)
    words = []
    # Encoded words stay under 75 characters (RFC 2047 section 2).
    step = 30 if kind == "b" else 20
    for start in range(0, len(data), step):
        chunk = _whole_chars(data, start, step, charset)
        if not chunk:
            continue
        if kind == "b":
            payload = base64.b64encode(chunk).decode()
            words.append(f"=?{charset.upper()}?B?{payload}?=")
        else:
            words.append(f"=?{charset}?Q?{_q(chunk)}?=")
    return "\n ".join(words), kind


def _whole_chars(data: bytes, start: int, step: int, charset: str) -> bytes:
    """A slice that does not cut a UTF-8 sequence in two (the start moves with it)."""
    if charset != "utf-8":
        return data[start : start + step]
    begin = start
    while 0 < begin < len(data) and data[begin] & 0xC0 == 0x80:
        begin += 1
    end = min(start + step, len(data))
    while end < len(data) and data[end] & 0xC0 == 0x80:
        end += 1
    return data[begin:end]


def _q(chunk: bytes) -> str:
    out = []
    for byte in chunk:
        char = chr(byte)
        if byte == 0x20:
            out.append("_")
        elif char.isalnum() and byte < 128:
            out.append(char)
        else:
            out.append(f"={byte:02X}")
    return "".join(out)


def spam_subject(rng: random.Random) -> str:
    return rng.choice(SPAM_SUBJECTS).format(n=rng.randint(1000, 99999))
