"""True mailings and the copies of them that drew reports.

A campaign is one subscriber's newsletter, sent through the relays over a few
hours; an outbreak is an infected PC sending straight to MX, or a stolen
password used through the relays from abroad, with random subjects and forged
From lines; a joe-job is spam from a botnet outside the ISP that forges a
subscriber's address (it is nobody's mailing).
"""

import base64
import hashlib
import ipaddress
import quopri
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from simulator import names, sent, subjects
from simulator import world as w
from simulator.providers import FBL_PROVIDERS, HUMAN_PROVIDERS, Provider

ALL_PROVIDERS = FBL_PROVIDERS + HUMAN_PROVIDERS


@dataclass
class Mailing:
    id: str
    account: str | None
    kind: str  # campaign | outbreak | joejob
    compromised: bool
    archetype: str
    start: datetime
    hours: float
    recipients: int
    language: str
    subject: str = ""
    subject_style: str = "plain"
    sender: str = ""
    sender_name: str = ""
    login: str = ""
    via: str = "relay1"
    bogus: bool = False
    forged_from: list[str] = field(default_factory=list)
    date_skew: timedelta = timedelta(0)
    ipv6: bool = False
    verp: bool = False  # the newsletter tool encodes each recipient in Return-Path
    html: bool = False  # multipart/alternative, text quoted-printable, HTML base64
    tags: list[str] = field(default_factory=list)
    # A break in the sending: ``gap_after`` hours in, nothing is sent for
    # ``gap`` (an infected PC switched off overnight, a thief's second session,
    # a newsletter re-sent days later to those who did not open it).
    gap_after: float = 0.0
    gap: timedelta = timedelta(0)
    # What the re-sent newsletter puts before its subject ("Reminder: "), if anything.
    resend_prefix: str = ""

    def is_after_gap(self, at: datetime) -> bool:
        return bool(self.gap) and at > self.start + timedelta(hours=self.gap_after)


def recipient(
    rng: random.Random, provider: Provider, *, bogus: bool = False
) -> tuple[str, str]:
    """(address, display first name) of a recipient at ``provider``."""
    first = rng.choice(names.FIRST_NAMES)
    last = rng.choice(names.LAST_NAMES)
    if bogus:
        local = rng.choice(
            (sent.token(rng, "abcdefghijklmnopqrstuvwxyz", rng.randint(5, 11)),
             f"{names.slug(first)}{rng.randint(1, 999)}", "info", "sales",
             f"{names.slug(last)}_{sent.token(rng, 'xyzq', 3)}"))  # fmt: skip
        domain = rng.choice(
            (provider.domain, f"{sent.token(rng, 'abcdefghijklmnop', 7)}.example",
             provider.domain.replace(".", "-") + ".example"))  # fmt: skip
        return f"{local}@{domain}", first
    style = rng.random()
    if style < 0.5:
        local = f"{names.slug(first)}.{names.slug(last)}"
    elif style < 0.8:
        local = f"{names.slug(first)}{rng.randint(1, 99)}"
    else:
        local = f"{names.slug(last)[:6]}{names.slug(first)[0]}"
    return f"{local}@{provider.domain}", first


def at_in(rng: random.Random, mailing: Mailing) -> datetime:
    """A moment the mailing was sending (``hours`` of sending, its gap aside)."""
    offset = timedelta(seconds=rng.uniform(0, mailing.hours * 3600))
    if mailing.gap and offset > timedelta(hours=mailing.gap_after):
        offset += mailing.gap
    return mailing.start + offset


def client_ip(rng: random.Random, sub: w.Subscriber, at: datetime, *, v6: bool) -> str:
    prefix = sub.v6_prefix()
    if v6 and prefix:
        net = ipaddress.ip_network(prefix)
        # SLAAC privacy addresses: a random interface id in the first /64.
        host = rng.getrandbits(64) | 1
        return str(net.network_address + host)
    return sub.address_at(at) or sub.address_at(sub.leases[0].start) or "81.200.16.9"


def foreign_ip(rng: random.Random) -> str:
    return (
        rng.choice(names.FOREIGN_PREFIXES)
        + f"{rng.randint(0, 255)}.{rng.randint(1, 254)}"
    )


def campaign_copy(
    rng: random.Random, m: Mailing, sub: w.Subscriber, provider: Provider,
    *, second_recipient: bool = False, bogus: bool = False,
) -> sent.Copy:  # fmt: skip
    at = at_in(rng, m)
    rcpt, first = recipient(rng, provider, bogus=bogus)
    rcpts = [rcpt] + ([recipient(rng, provider)[0]] if second_recipient else [])
    if m.kind == "outbreak":
        # A stolen password: random subjects, sent from wherever the thief sits.
        subject, tags = subjects.spam_subject(rng), ["random_subject", "foreign_login"]
    else:
        base = m.subject
        if m.resend_prefix and m.is_after_gap(at):
            base = m.resend_prefix + base
        subject, tags = subjects.copy_subject(
            rng, base, style=m.subject_style, recipient_name=first,
            language=m.language,
        )  # fmt: skip
        subject, more = subjects.receiving_side(rng, subject)
        tags += more
    if m.via == "direct" or m.via == "foreign":
        raise ValueError("campaigns go through the relays")
    v6 = m.ipv6 and rng.random() < 0.7
    ip = foreign_ip(rng) if m.kind == "outbreak" else client_ip(rng, sub, at, v6=v6)
    if ":" in ip:
        tags.append("ipv6")
    client = sent.client_for(rng, ip, sub.account if m.kind == "campaign" else "")
    batch = int((at - m.start).total_seconds() // 3600)
    isp, handed, clues = sent.relay_trail(
        rng, via=m.via, client=client, login=m.login, sender=m.sender,
        rcpt=rcpts[0] if len(rcpts) == 1 else "multiple recipients",
        at=at, mailing=m.id, batch=batch, envelope=envelope(m, rcpts[0]),
    )  # fmt: skip
    if "webmail" in clues:
        tags.append("webmail")
    from_addr = m.sender
    if m.forged_from and rng.random() < 0.7:
        from_addr = rng.choice(m.forged_from)
    return _assemble(rng, m, provider, rcpts, subject, from_addr, at, handed, isp,
                     relay=w.RELAYS[1] if m.via == "relay2" else w.RELAYS[0],
                     tags=tags, clues=clues, client_ip=ip)  # fmt: skip


def envelope(m: Mailing, rcpt: str) -> str:
    """The envelope sender: VERP (``bounces+<mailing>-<local>=<domain>@…``) when
    the tool uses it, so a bounce names the recipient and the campaign."""
    if not m.verp:
        return m.sender
    local, _, domain = rcpt.partition("@")
    tag = hashlib.sha256(m.id.encode()).hexdigest()[:6]
    return f"bounces+{tag}-{local}={domain}@{m.sender.rsplit('@', 1)[-1]}"


def outbreak_copy(
    rng: random.Random, m: Mailing, sub: w.Subscriber, provider: Provider
) -> sent.Copy:
    """An infected PC's message, straight to the recipient's MX."""
    at = at_in(rng, m)
    rcpt, _first = recipient(rng, provider)
    v6 = m.ipv6 and rng.random() < 0.8
    ip = client_ip(rng, sub, at, v6=v6)
    client = sent.client_for(rng, ip, sub.account)
    tags = ["random_subject"]
    if ":" in ip:
        tags.append("ipv6")
    from_addr = rng.choice(m.forged_from)
    handed = at + timedelta(seconds=rng.randint(0, 3))
    return _assemble(rng, m, provider, [rcpt], subjects.spam_subject(rng), from_addr,
                     at, handed, sent.forged_inner(rng, at), relay=None, client=client,
                     tags=tags, clues=["client_ip"], client_ip=ip)  # fmt: skip


def joejob_copy(rng: random.Random, m: Mailing, provider: Provider) -> sent.Copy:
    at = at_in(rng, m)
    rcpt, _first = recipient(rng, provider)
    ip = foreign_ip(rng)
    client = sent.Client(
        ip, sent.token(rng, "abcdefghijklmnopqrstuvwxyz", 8), "unknown"
    )
    subject = subjects.spam_subject(rng) if rng.random() < 0.5 else m.subject
    return _assemble(rng, m, provider, [rcpt], subject, m.sender, at,
                     at + timedelta(seconds=rng.randint(0, 5)), sent.forged_inner(rng, at),
                     relay=None, client=client, tags=["joe_job"], clues=[],
                     client_ip=ip)  # fmt: skip


def _assemble(
    rng: random.Random, m: Mailing, provider: Provider, rcpts: list[str], subject: str,
    from_addr: str, at: datetime, handed: datetime, isp: list[tuple[str, str]], *,
    relay: w.Host | None, tags: list[str], clues: list[str], client_ip: str,
    client: sent.Client | None = None,
) -> sent.Copy:  # fmt: skip
    received = handed + timedelta(seconds=rng.randint(1, 90))
    rcpt_word = rcpts[0] if len(rcpts) == 1 else "multiple recipients"
    if relay is not None:
        mx_line = sent.mx_received(rng, provider, helo=relay.name, rdns=relay.name,
                                   ip=relay.ip, rcpt=rcpt_word, at=received,
                                   mail_from=envelope(m, rcpts[0]))  # fmt: skip
    else:
        mx_line = sent.mx_received(rng, provider, helo=client.helo, rdns=client.rdns,
                                   ip=client.ip, rcpt=rcpt_word, at=received,
                                   mail_from=from_addr)  # fmt: skip
    delivered = received + timedelta(seconds=rng.randint(0, 4))
    bounce_to = envelope(m, rcpts[0]) if relay and m.kind == "campaign" else (
        m.sender if relay else from_addr
    )  # fmt: skip
    remote = [
        ("Return-Path", f"<{bounce_to}>"),
        ("Delivered-To", rcpts[0]),
        ("Received", sent.inner_hop(rng, provider, delivered)),
        ("Received", mx_line),
        (
            "Authentication-Results",
            _auth_results(provider, relay, from_addr, relay.ip if relay else client_ip),
        ),
    ]
    encoded, enc = subjects.encode_header(
        rng, subject, force="q" if rng.random() < 0.04 else ""
    )
    if enc:
        tags.append(f"rfc2047_{enc}")
    display = m.sender_name if from_addr == m.sender else rng.choice(names.FIRST_NAMES)
    shown, _ = subjects.encode_header(rng, display)
    date = at + m.date_skew if m.date_skew else at
    style = "newsletter" if m.kind == "campaign" else rng.choice(("outlook", "other"))
    domain = from_addr.rsplit("@", 1)[-1]
    msgid = sent.message_id(rng, domain, style, at)
    own = [
        ("From", f"{shown} <{from_addr}>"),
        # Bulk mail to several mailboxes at once names none of them.
        ("To", f"<{rcpts[0]}>" if len(rcpts) == 1 else "undisclosed-recipients:;"),
        ("Subject", encoded),
        (
            "Date",
            sent.rfc_date(
                date, 120 if m.kind == "campaign" else rng.choice((0, 120, -300))
            ),
        ),
        ("Message-ID", msgid),
        ("MIME-Version", "1.0"),
        ("Content-Type", 'text/plain; charset="utf-8"'),
        ("Content-Transfer-Encoding", "8bit"),
    ]
    if m.kind == "campaign":
        own.append(
            (
                "List-Unsubscribe",
                f"<https://{domain}/unsubscribe?u={sent.token(rng, sent.B62, 12)}>",
            )
        )
        own.append(
            (
                "X-Mailer",
                rng.choice(
                    (
                        "Newsletter2Go",
                        "phpList 3.6.14",
                        "Mailpoet 4.5",
                        "Microsoft Outlook 16.0",
                    )
                ),
            )
        )
    else:
        own.append(
            (
                "X-Mailer",
                rng.choice(
                    (
                        "Microsoft Outlook Express 6.00.2900.5512",
                        "The Bat! (v3.5)",
                        "Foxmail 7",
                    )
                ),
            )
        )
    plain = body = _body(rng, m, subject)
    if m.html:
        own, body = _alternative(rng, own, plain)
        tags.append("html_newsletter")
    if m.verp and relay:
        tags.append("verp_return_path")
    headers = remote + isp + own
    return sent.Copy(
        mailing=m.id if m.kind != "joejob" else None,
        account=m.account if m.kind != "joejob" else None,
        forged=m.kind == "joejob", provider=provider, recipients=rcpts, headers=headers,
        body=body, sent_at=at, received_at=received, subject=subject, from_addr=from_addr, from_name=display,
        envelope_from=bounce_to, plain=plain,
        message_id=msgid, via=m.via if relay else ("foreign" if m.kind == "joejob" else "direct"),
        client_ip=client_ip, tags=tags, clues=clues, remote=len(remote),
    )  # fmt: skip


def _alternative(
    rng: random.Random, headers: list[tuple[str, str]], plain: str
) -> tuple[list[tuple[str, str]], str]:
    """A newsletter tool's HTML mail: the text part quoted-printable, the HTML
    part base64, as such tools write them."""
    boundary = f"b1_{sent.token(rng, '0123456789abcdef', 32)}"
    kept = [
        (n, v)
        for n, v in headers
        if n not in ("Content-Type", "Content-Transfer-Encoding")
    ]
    kept.append(("Content-Type", f'multipart/alternative;\n\tboundary="{boundary}"'))
    text = quopri.encodestring(plain.encode()).decode()
    paragraphs = "".join(f"<p>{line}</p>\n" for line in plain.split("\n") if line)
    html = f"<html><body>\n{paragraphs}</body></html>\n".encode()
    encoded = base64.b64encode(html).decode()
    lines = "\n".join(encoded[i : i + 76] for i in range(0, len(encoded), 76))
    body = (
        f"This is a multi-part message in MIME format.\n\n--{boundary}\n"
        'Content-Type: text/plain; charset="utf-8"\nContent-Transfer-Encoding: '
        f"quoted-printable\n\n{text}\n--{boundary}\nContent-Type: text/html; "
        f'charset="utf-8"\nContent-Transfer-Encoding: base64\n\n{lines}\n\n'
        f"--{boundary}--\n"
    )
    return kept, body


def _auth_results(provider: Provider, relay, from_addr: str, ip: str) -> str:
    spf = "pass" if relay else "softfail"
    return (
        f"{provider.mx};\n\tspf={spf} (sender IP is {ip}) smtp.mailfrom={from_addr};"
        f"\n\tdkim=none; dmarc={'none' if relay else 'fail'} header.from="
        f"{from_addr.rsplit('@', 1)[-1]}"
    )


def _body(rng: random.Random, m: Mailing, subject: str) -> str:
    if m.kind == "campaign":
        lines = [
            subject,
            "",
            {
                "en": "Discover this month's offers in our shop.",
                "de": "Entdecken Sie unsere Angebote des Monats.",
                "fr": "Découvrez nos offres du mois.",
                "es": "Descubra nuestras ofertas del mes.",
                "nl": "Ontdek onze aanbiedingen van de maand.",
            }[m.language],
            "",
            f"https://{m.sender.rsplit('@', 1)[-1]}/offers?c={m.id}",
            "",
            {
                "de": "Abmelden: Antwort mit STOP",
                "fr": "Désinscription : répondez STOP",
                "es": "Darse de baja: responda BAJA",
                "nl": "Afmelden: antwoord STOP",
            }.get(m.language, "Unsubscribe: reply with STOP"),
            "",
        ]
        return "\n".join(lines)
    return "\n".join(
        (
            rng.choice(("Hello,", "Dear friend,", "Hi!", "Guten Tag,")),
            "",
            rng.choice(
                (
                    "Please open the attached document and confirm.",
                    "Your package could not be delivered, click here to reschedule.",
                    "Buy cheap pills without prescription!!!",
                    "I have access to your device. Pay 1500 USD in bitcoin.",
                    "Verify your mailbox now or it will be closed.",
                )
            ),
            f"http://{sent.token(rng, 'abcdefghijklmnopqrstuvwxyz', 9)}.example/{sent.token(rng, sent.B62, 8)}",
            "",
        )
    )


def providers_for(rng: random.Random, *, fbl_share: float) -> Provider:
    if rng.random() < fbl_share:
        return rng.choice(FBL_PROVIDERS)
    return rng.choice(HUMAN_PROVIDERS)
