"""What else lands in an abuse mailbox: out-of-office replies, challenge-response
robots, spam sent to the abuse address itself, and mail that is simply lost."""

import random
from datetime import datetime

from simulator import names, sent
from simulator.fbl import ABUSE, isp_received

AUTO_SUBJECTS = (
    ("Automatic reply: Your report", "en"),
    ("Out of Office: Re: Spam complaint", "en"),
    ("Automatische Antwort: Ihre Beschwerde", "de"),
    ("Abwesenheitsnotiz: Ihre Meldung", "de"),
    ("Réponse automatique : votre signalement", "fr"),
    ("Respuesta automática: su queja", "es"),
    ("Automatisch antwoord: uw melding", "nl"),
)
JUNK_SUBJECTS = (
    "Increase your website traffic", "Your mailbox is full", "SEO services for abuse",
    "Webinar invitation: email deliverability", "Invoice attached", "Hello",
    "We can help you with your backlinks", "Your domain expires soon",
)  # fmt: skip


def auto_reply(rng: random.Random, at: datetime) -> tuple[str, list[str]]:
    subject, language = rng.choice(AUTO_SUBJECTS)
    domain = rng.choice(names.SMALL_DOMAINS)
    who = names.slug(rng.choice(names.FIRST_NAMES))
    header = rng.choice(
        ("Auto-Submitted: auto-replied\n", "X-Autoreply: yes\n", "Precedence: auto_reply\n",
         "X-Auto-Response-Suppress: All\n")
    )  # fmt: skip
    text = {
        "en": "I am out of the office until Monday with limited access to email.",
        "de": "Ich bin bis einschließlich Freitag nicht im Büro.",
        "fr": "Je suis absent jusqu'au lundi.",
        "es": "Estoy fuera de la oficina hasta el lunes.",
        "nl": "Ik ben afwezig tot maandag.",
    }[language]
    return (
        isp_received(rng, f"mail.{domain}", f"198.18.{rng.randint(40, 90)}.{rng.randint(2, 250)}", at)
        + f"From: {who}@{domain}\nTo: {ABUSE}\nSubject: {subject}\n{header}"
        f"Date: {sent.rfc_date(at, 120)}\nMessage-ID: {sent.message_id(rng, domain, 'outlook', at)}\n"
        f"MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n\n{text}\n"
    ), ["auto_reply"]  # fmt: skip


def junk(rng: random.Random, at: datetime) -> tuple[str, list[str]]:
    domain = f"{sent.token(rng, 'abcdefghijklmnopqrstuvwxyz', 8)}.example"
    ip = (
        rng.choice(names.FOREIGN_PREFIXES)
        + f"{rng.randint(0, 255)}.{rng.randint(1, 254)}"
    )
    return (
        isp_received(rng, f"mail.{domain}", ip, at)
        + f"From: \"{rng.choice(names.FIRST_NAMES)}\" <sales@{domain}>\nTo: {ABUSE}\n"
        f"Subject: {rng.choice(JUNK_SUBJECTS)}\nDate: {sent.rfc_date(at, -300)}\n"
        f"Message-ID: {sent.message_id(rng, domain, 'other', at)}\nMIME-Version: 1.0\n"
        "Content-Type: text/plain; charset=utf-8\n\nDear sir or madam,\n\nWe offer the best "
        f"services at the lowest prices. Visit http://{domain}/ today.\n"
    ), ["junk"]  # fmt: skip


def challenge(rng: random.Random, at: datetime) -> tuple[str, list[str]]:
    domain = rng.choice(names.SMALL_DOMAINS)
    return (
        isp_received(rng, f"mail.{domain}", "198.18.77.77", at)
        + f"From: Spam Protection <confirm@{domain}>\nTo: {ABUSE}\n"
        "Subject: Please confirm your message\nAuto-Submitted: auto-replied\n"
        f"Date: {sent.rfc_date(at, 120)}\nMessage-ID: {sent.message_id(rng, domain, 'other', at)}\n\n"
        "Your message is held until you confirm that you are a person.\n"
        f"Click: https://{domain}/confirm/{sent.token(rng, sent.B62, 16)}\n"
    ), ["challenge_response"]  # fmt: skip
