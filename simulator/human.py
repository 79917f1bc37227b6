"""Complaints written by people: forwarded inline by their mail client (in five
languages, with each client's date line), replied to with a quote, headers
pasted with their folding broken, the spam attached as .eml, blocklist notices
and lawyers' letters."""

import base64
import random
from datetime import datetime, timedelta, timezone

from simulator import names, sent, subjects
from simulator.fbl import ABUSE, isp_received

# fmt: off
DAYS = {
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
    "de": ("Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag", "Sonntag"),
    "fr": ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"),
    "es": ("lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo"),
    "nl": ("maandag", "dinsdag", "woensdag", "donderdag", "vrijdag", "zaterdag", "zondag"),
}
MONTHS = {
    "en": ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December"),
    "de": ("Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August",
           "September", "Oktober", "November", "Dezember"),
    "fr": ("janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août", "sept.",
           "oct.", "nov.", "déc."),
    "es": ("enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto",
           "septiembre", "octubre", "noviembre", "diciembre"),
    "nl": ("jan.", "feb.", "mrt.", "apr.", "mei", "jun.", "jul.", "aug.", "sep.", "okt.",
           "nov.", "dec."),
}
COMPLAINT_TEXT = {
    "en": ("Please stop this spam. I never signed up for this.",
           "Your customer keeps sending me junk. Do something about it!",
           "This is the third time. I will report you to the authorities."),
    "de": ("Bitte unterbinden Sie diesen Spam. Ich habe mich nie angemeldet.",
           "Schon wieder Werbung von Ihrem Kunden. Das ist unzulässig!"),
    "fr": ("Merci de faire cesser ces envois, je ne me suis jamais inscrit.",
           "Encore un spam de votre client. C'est inadmissible."),
    "es": ("Por favor detengan este spam. Nunca me suscribí.",
           "Otra vez correo basura de su cliente."),
    "nl": ("Graag deze spam stoppen. Ik heb me nooit aangemeld.",
           "Alweer ongevraagde reclame van uw klant."),
}
# fmt: on


def local(moment: datetime, tz_minutes: int) -> datetime:
    return moment.astimezone(timezone(timedelta(minutes=tz_minutes)))


def date_line(
    rng: random.Random, language: str, who: str, at: datetime, variant: str = ""
) -> tuple[str, str]:
    """The line a client writes above a quote, and its tag. ``variant`` picks
    the English client (gmail or apple); empty: either."""
    t = local(at, 120 if language != "en" else rng.choice((-240, 60, 120)))
    day, month = DAYS[language][t.weekday()], MONTHS[language][t.month - 1]
    if language == "en":
        if variant == "gmail" or (not variant and rng.random() < 0.5):
            hour = t.hour % 12 or 12
            ampm = "AM" if t.hour < 12 else "PM"
            return (
                f"On {day[:3]}, {month[:3]} {t.day}, {t.year} at {hour}:{t:%M} {ampm} {who} wrote:",
                "dateline_gmail",
            )
        return (
            f"On {t.day} {month[:3]} {t.year}, at {t:%H:%M}, {who} wrote:",
            "dateline_apple",
        )
    if language == "de":
        return f"Am {t:%d.%m.%Y} um {t:%H:%M} schrieb {who}:", "dateline_de"
    if language == "fr":
        return (
            f"Le {day[:3]}. {t.day} {month} {t.year} à {t:%H:%M}, {who} a écrit :",
            "dateline_fr",
        )
    if language == "es":
        return (
            f"El {day[:3]}, {t.day} {month[:4]} {t.year} a las {t:%H:%M}, {who} escribió:",
            "dateline_es",
        )
    return (
        f"Op {day[:2]} {t.day} {month} {t.year} om {t:%H:%M} schreef {who}:",
        "dateline_nl",
    )


def forward_block(
    rng: random.Random, language: str, copy: sent.Copy, rcpt: str, variant: str = ""
) -> tuple[str, str]:
    """The header block an inline forward shows, in the client's language;
    ``variant`` picks the English client (apple, outlook or gmail)."""
    if language == "en" and not variant:
        variant = rng.choices(("apple", "outlook", "gmail"), weights=(3, 4, 3))[0]
    t = local(copy.received_at, 120 if language != "en" else -240)
    who = copy.shown_from
    subject = copy.subject
    if variant == "apple":
        month = MONTHS["en"][t.month - 1]
        zone = "EDT" if t.utcoffset() == timedelta(hours=-4) else "CEST"
        return (
            f"Begin forwarded message:\n\nFrom: {who}\nSubject: {subject}\nDate: {t.day} "
            f"{month} {t.year} at {t:%H:%M:%S} {zone}\nTo: {rcpt}\n", "forward_apple"
        )  # fmt: skip
    if variant == "outlook":
        hour = t.hour % 12 or 12
        ampm = "AM" if t.hour < 12 else "PM"
        day = DAYS["en"][t.weekday()]
        month = MONTHS["en"][t.month - 1]
        return (
            f"-----Original Message-----\nFrom: {who}\nSent: {day}, {month} {t.day}, {t.year} "
            f"{hour}:{t:%M} {ampm}\nTo: {rcpt}\nSubject: {subject}\n", "forward_outlook"
        )  # fmt: skip
    if language == "en":
        hour = t.hour % 12 or 12
        ampm = "AM" if t.hour < 12 else "PM"
        day = DAYS["en"][t.weekday()][:3]
        month = MONTHS["en"][t.month - 1][:3]
        return (
            f"---------- Forwarded message ---------\nFrom: {who}\nDate: {day}, {month} {t.day}, "
            f"{t.year} at {hour}:{t:%M} {ampm}\nSubject: {subject}\nTo: <{rcpt}>\n", "forward_gmail"
        )  # fmt: skip
    if language == "de":
        return (
            f"-------- Weitergeleitete Nachricht --------\nBetreff: \t{subject}\nDatum: \t"
            f"{sent.rfc_date(copy.received_at, 120)}\nVon: \t{who}\nAn: \t{rcpt}\n", "forward_de"
        )  # fmt: skip
    if language == "fr":
        day = DAYS["fr"][t.weekday()][:3]
        return (
            f"---------- Forwarded message ---------\nDe : {who}\nDate: {day}. {t.day} "
            f"{MONTHS['fr'][t.month - 1]} {t.year} à {t:%H:%M}\nSubject: {subject}\nTo: <{rcpt}>\n",
            "forward_fr",
        )  # fmt: skip
    if language == "es":
        return (
            f"De: {who}\nEnviado el: {DAYS['es'][t.weekday()]}, {t.day} de {MONTHS['es'][t.month - 1]} "
            f"de {t.year} {t:%H:%M}\nPara: {rcpt}\nAsunto: {subject}\n", "forward_es"
        )  # fmt: skip
    return (
        f"-------- Doorgestuurd bericht --------\nOnderwerp: {subject}\nDatum: "
        f"{DAYS['nl'][t.weekday()][:2]} {t.day} {MONTHS['nl'][t.month - 1]} {t.year} {t:%H:%M}\n"
        f"Van: {who}\nAan: {rcpt}\n", "forward_nl"
    )  # fmt: skip


def break_folding(rng: random.Random, header_text: str) -> tuple[str, bool]:
    """What a web form or a careless paste does to folded headers: continuation
    lines lose their leading whitespace."""
    out, broken = [], False
    for line in header_text.split("\n"):
        if line[:1] in (" ", "\t") and rng.random() < 0.75:
            out.append(line.lstrip())
            broken = True
        else:
            out.append(line)
    return "\n".join(out), broken


def complaint(
    rng: random.Random, copy: sent.Copy, rcpt: str, at: datetime, style: str,
    language: str = "", variant: str = "",
) -> tuple[str, list[str]]:  # fmt: skip
    """A person's complaint about ``copy``: ``style`` is forward, reply, pasted
    or attached; ``language`` and ``variant`` pick the mail client."""
    language = language or rng.choice(names.LANGUAGES)
    first = rng.choice(names.FIRST_NAMES)
    me = f"{first} {rng.choice(names.LAST_NAMES)}"
    subject_prefix = subjects.forward_prefix(rng, language)
    tags = [f"human_{style}", f"lang_{language}"]
    plea = rng.choice(COMPLAINT_TEXT[language])
    boundary = f"------------{sent.token(rng, '0123456789ABCDEF', 24)}"
    if style == "forward":
        block, tag = forward_block(rng, language, copy, rcpt, variant)
        tags.append(tag)
        body = f"{plea}\n\n{block}\n{copy.shown_body}"
        subject = subject_prefix + copy.subject
        tags.append("subject_prefix")
    elif style == "reply":
        line, tag = date_line(rng, language, copy.shown_from, copy.received_at, variant)
        tags.append(tag)
        quoted = "\n".join(
            f"> {row}" if row else ">" for row in copy.shown_body.split("\n")
        )
        body = f"{plea}\n\n{line}\n\n{quoted}\n"
        subject = subjects.forward_prefix(rng, "en" if language == "en" else language).replace(
            "Fwd", "Re"
        ) + copy.subject  # fmt: skip
        tags.append("subject_prefix")
    elif style == "pasted":
        headers, broken = break_folding(rng, copy.header_text())
        if broken:
            tags.append("broken_folding")
        body = f"{plea}\n\nHeaders:\n\n{headers}\n{copy.shown_body[:200]}\n"
        subject = rng.choice(
            ("Spam", "SPAM!!!", "Beschwerde", "Réclamation", "Queja", "Klacht")
        )
    elif style == "attached":
        subject = subject_prefix + copy.subject
        tags += ["attached_eml", "subject_prefix"]
        disposition = rng.choice(("message/rfc822", "application/octet-stream"))
        name = (
            "spam.eml" if disposition != "message/rfc822" else "Forwarded message.eml"
        )
        attachment = copy.text()
        encoding = ""
        if disposition == "application/octet-stream":
            # Clients that do not know message/rfc822 attach the file base64-encoded.
            raw = base64.b64encode(attachment.encode()).decode()
            attachment = (
                "\n".join(raw[i : i + 76] for i in range(0, len(raw), 76)) + "\n"
            )
            encoding = "Content-Transfer-Encoding: base64\n"
        body_mime = (
            f"This is a multi-part message in MIME format.\n--{boundary}\n"
            f"Content-Type: text/plain; charset=UTF-8; format=flowed\n"
            f"Content-Transfer-Encoding: 8bit\n\n{plea}\n\n--{boundary}\n"
            f'Content-Type: {disposition}; name="{name}"\n{encoding}'
            f'Content-Disposition: attachment; filename="{name}"\n\n{attachment}\n'
            f"--{boundary}--\n"
        )
        return _envelope(rng, me, first, subject, at, body_mime,
                         f'multipart/mixed; boundary="{boundary}"'), tags  # fmt: skip
    else:
        raise ValueError(style)
    encoded, enc = subjects.encode_header(rng, subject)
    if enc:
        tags.append(f"rfc2047_{enc}")
    return _envelope(
        rng, me, first, encoded, at, body, "text/plain; charset=UTF-8"
    ), tags


def _envelope(
    rng: random.Random, me: str, first: str, subject: str, at: datetime, body: str,
    content_type: str,
) -> str:  # fmt: skip
    domain = rng.choice(names.SMALL_DOMAINS)
    address = f"{names.slug(first)}.{sent.token(rng, 'abcdefghijklmnopqrstuvwxyz', 4)}@{domain}"
    shown, _ = subjects.encode_header(rng, me)
    return (
        isp_received(
            rng,
            f"mail.{domain}",
            f"198.18.{rng.randint(40, 90)}.{rng.randint(2, 250)}",
            at,
        )
        + f"From: {shown} <{address}>\nTo: {ABUSE}\nSubject: {subject}\n"
        f"Date: {sent.rfc_date(at, 120)}\n"
        f"Message-ID: {sent.message_id(rng, domain, rng.choice(('thunderbird', 'outlook')), at)}\n"
        f"MIME-Version: 1.0\nContent-Type: {content_type}\nContent-Transfer-Encoding: 8bit\n"
        f"User-Agent: {rng.choice(('Mozilla Thunderbird', 'Microsoft Outlook 16.0', 'Apple Mail (2.3774)'))}\n"
        f"\n{body}"
    )


def blocklist_notice(rng: random.Random, ip: str, seen: datetime, at: datetime) -> str:
    """A blocklist operator's notice: an address and when it was seen, nothing else."""
    return (
        isp_received(rng, "notify.blocklist.example", "198.18.100.5", at)
        + f"From: Blocklist Notifications <noreply@blocklist.example>\nTo: {ABUSE}\n"
        f"Subject: [BL-{rng.randint(100000, 999999)}] {ip} listed for spam\n"
        f"Date: {sent.rfc_date(at, 0)}\nMessage-ID: <{sent.token(rng, sent.B62, 18)}@blocklist.example>\n"
        "MIME-Version: 1.0\nContent-Type: text/plain; charset=us-ascii\n\n"
        f"The address {ip} has been listed on our blocklist.\n\n"
        f"Reason: spam sent directly to our spam traps (botnet behaviour).\n"
        f"Last observed: {seen:%Y-%m-%d %H:%M:%S} UTC\n\nDelisting: https://blocklist.example/lookup\n"
    )
