"""One copy of a message as the recipient's mail system holds it: the body and
the header block with the Received trail of the way it travelled.

Ways a copy travels (``via``):

- ``relay1``: a mail client submits to the Postfix relay with SMTP AUTH; Postfix
  writes ``(Authenticated sender: login)`` and its queue id, and the ISP stamps
  a trace token per mailing batch.
- ``relay2``: the Exim relay, cPanel style: no login in Received, but
  ``X-Get-Message-Sender-Via`` / ``X-Authenticated-Sender`` headers, an Exim
  message id, and a trace token per message.
- ``webmail``: the browser posts to the webmail host, which submits to relay 1.
- ``direct``: an infected PC talks to the recipient's MX itself, from its
  dynamic address, with a forged Date and made-up inner Received lines.
- ``foreign``: a botnet outside the ISP (a joe-job): nothing of the ISP at all.
"""

import base64
import hashlib
import ipaddress
import random
import string
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from email.utils import format_datetime

from simulator import world as w
from simulator.providers import Provider

B62 = string.ascii_letters + string.digits
# The simulated relays' signing key: part of the simulation, not a credential.
TRACE_SECRET = "vl-trace-2026"  # noqa: S105


@dataclass
class Copy:
    """One delivered message; ``recipients`` has two entries when one SMTP
    transaction delivered it to two mailboxes of the same provider."""

    mailing: str | None
    account: str | None
    forged: bool
    provider: Provider
    recipients: list[str]
    headers: list[tuple[str, str]]
    body: str
    sent_at: datetime
    received_at: datetime
    subject: str
    from_addr: str
    message_id: str
    via: str
    client_ip: str
    tags: list[str] = field(default_factory=list)
    clues: list[str] = field(default_factory=list)
    remote: int = 0  # leading headers written by the receiving side
    from_name: str = ""  # the display name, decoded, as a mail client shows it
    envelope_from: str = ""  # Return-Path: where bounces of this copy go
    plain: str = ""  # the body as a mail client shows it (decoded text part)

    @property
    def shown_body(self) -> str:
        return self.plain or self.body

    @property
    def shown_from(self) -> str:
        return (
            f"{self.from_name} <{self.from_addr}>" if self.from_name else self.from_addr
        )

    def isp_header_text(self) -> str:
        """The header block as it left the ISP (before the recipient's MX)."""
        return "".join(f"{n}: {v}\n" for n, v in self.headers[self.remote :])

    def header_text(self, *, drop: tuple[str, ...] = ()) -> str:
        lower = {d.lower() for d in drop}
        return "".join(
            f"{name}: {value}\n"
            for name, value in self.headers
            if name.lower() not in lower
        )

    def text(self) -> str:
        return self.header_text() + "\n" + self.body

    def header(self, name: str) -> str:
        for key, value in self.headers:
            if key.lower() == name.lower():
                return value
        return ""


def rfc_date(moment: datetime, tz_minutes: int, *, zone_name: str = "") -> str:
    zone = timezone(timedelta(minutes=tz_minutes))
    text = format_datetime(moment.astimezone(zone))
    return f"{text} ({zone_name})" if zone_name else text


def token(rng: random.Random, alphabet: str, length: int) -> str:
    return "".join(rng.choice(alphabet) for _ in range(length))


def postfix_queue_id(rng: random.Random) -> str:
    # Postfix long queue ids (enable_long_queue_ids): time part, 'z', inode part.
    return (
        "4"
        + token(rng, "BCDFGHJKLMNPQRSTVWXYbcdfghjklmnpqrstvwxy0123456789", 9)
        + ("z" + token(rng, B62, 4))
    )


def exim_id(rng: random.Random) -> str:
    return f"1{token(rng, B62, 5)}-{token(rng, B62, 6)}-{token(rng, B62, 2)}"


def trace_per_batch(mailing: str, batch: int) -> str:
    digest = hashlib.sha256(f"{TRACE_SECRET}:{mailing}:{batch}".encode()).digest()
    return "1." + base64.urlsafe_b64encode(digest[:18]).decode()


def trace_per_message(rng: random.Random) -> str:
    return token(rng, "0123456789abcdef", 40)


def message_id(rng: random.Random, domain: str, style: str, at: datetime) -> str:
    if style == "newsletter":
        return f"<{at:%Y%m%d%H%M%S}.{token(rng, string.hexdigits.lower()[:16], 12)}@{domain}>"
    if style == "outlook":
        return f"<{token(rng, string.ascii_uppercase + string.digits, 24)}@{domain}>"
    if style == "thunderbird":
        parts = [token(rng, "0123456789abcdef", n) for n in (8, 4, 4, 4, 12)]
        return f"<{'-'.join(parts)}@{domain}>"
    return f"<{token(rng, B62, 16)}.{rng.randint(1000, 99999)}@{domain}>"


def mx_received(
    rng: random.Random, provider: Provider, *, helo: str, rdns: str, ip: str,
    rcpt: str, at: datetime, mail_from: str = "",
) -> str:  # fmt: skip
    """The receiving MX's own line: the one clock and client address to trust."""
    addr = f"IPv6:{ip}" if ":" in ip else ip
    date = rfc_date(at, provider.tz_minutes)
    if provider.mx_style == "gmail":
        return (
            f"from {helo} ({rdns}. [{ip}])\n        by {provider.mx} with ESMTPS id "
            f"{token(rng, B62.lower(), 10)}-{rng.randint(10, 99)}si{rng.randint(1000, 9999)}."
            f"{rng.randint(100, 999)}\n        for <{rcpt}>\n        (version=TLS1_3 "
            f"cipher=TLS_AES_256_GCM_SHA384 bits=256/256);\n        {date}"
        )
    if provider.mx_style == "exchange":
        return (
            f"from {helo} ({ip}) by\n {provider.mx} ({addr}) with Microsoft SMTP "
            f"Server (version=TLS1_2,\n cipher=TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384) "
            f"id 15.20.{rng.randint(7000, 8999)}.{rng.randint(10, 40)}; {date}"
        )
    if provider.mx_style == "exim":
        return (
            f"from {rdns} ([{ip}] helo={helo})\n\tby {provider.mx} with esmtps "
            f"(TLS1.3:ECDHE_X25519__RSA_PSS_RSAE_SHA256__AES_256_GCM:256)\n\t(Exim 4.96)"
            f"\n\t(envelope-from <{mail_from}>)\n\tid {exim_id(rng)}\n\tfor {rcpt}; {date}"
        )
    return (
        f"from {helo} ({rdns} [{ip}])\n\tby {provider.mx} (Postfix) with ESMTPS id "
        f"{postfix_queue_id(rng)}\n\tfor <{rcpt}>; {date}"
    )


def inner_hop(rng: random.Random, provider: Provider, at: datetime) -> str:
    store = f"mailstore{rng.randint(1, 40):02d}.{provider.domain}"
    return (
        f"from {provider.mx}\n\tby {store} with LMTP\n\tid "
        f"{token(rng, B62, 22)}\n\t; {rfc_date(at, provider.tz_minutes)}"
    )


@dataclass(frozen=True)
class Client:
    ip: str
    helo: str
    rdns: str


def pc_name(owner: str) -> str:
    """The HELO name of one customer's computer: the same every time it sends."""
    digest = hashlib.sha256(owner.encode()).digest()
    pattern = ("DESKTOP-{x}", "LAPTOP-{x}", "PC-{x}", "WIN-{x}", "User-PC", "HP-{x}")
    alphabet = string.ascii_uppercase + string.digits
    suffix = "".join(alphabet[b % len(alphabet)] for b in digest[1:8])
    return pattern[digest[0] % len(pattern)].format(x=suffix)


def client_for(rng: random.Random, ip: str, owner: str = "") -> Client:
    pc = pc_name(owner) if owner else pc_name(token(rng, B62, 8))
    if ":" in ip:
        return Client(ip, f"[IPv6:{ip}]" if rng.random() < 0.5 else pc, "unknown")
    if ip.startswith("81.200."):
        rdns = f"dyn-{ip.replace('.', '-')}.dsl.{w.MAIN_DOMAIN}"
        if ipaddress.ip_address(ip) in ipaddress.ip_network(w.STATIC_BLOCK):
            rdns = f"static-{ip.split('.')[-1]}.biz.{w.MAIN_DOMAIN}"
        return Client(ip, pc if rng.random() < 0.6 else f"[{ip}]", rdns)
    return Client(ip, pc, "unknown")


def relay_trail(
    rng: random.Random, *, via: str, client: Client, login: str, sender: str,
    rcpt: str, at: datetime, mailing: str, batch: int, envelope: str = "",
) -> tuple[list[tuple[str, str]], datetime, list[str]]:  # fmt: skip
    """Headers the ISP side writes (lowest hop last in the list) and when the
    relay hands the copy on; plus the clue tags they carry."""
    relay = w.RELAYS[1] if via == "relay2" else w.RELAYS[0]
    handed = at + timedelta(seconds=rng.randint(1, 40))
    headers: list[tuple[str, str]] = []
    clues = []
    stamp = w.TRACE_HEADER
    if via == "relay2":
        qid = exim_id(rng)
        headers.append(
            (
                "Received",
                f"from [{client.ip}] (port={rng.randint(49152, 65535)} helo={client.helo})"
                f"\n\tby {relay.name} with esmtpsa  (TLS1.3) tls TLS_AES_256_GCM_SHA384"
                f"\n\t(Exim 4.97.1)\n\t(envelope-from <{envelope or sender}>)\n\tid {qid}\n\tfor {rcpt};"
                f" {rfc_date(at, 0)}",
            )
        )
        headers.append(("X-AntiAbuse", f"Primary Hostname - {relay.name}"))
        headers.append(
            ("X-Get-Message-Sender-Via", f"{relay.name}: authenticated_id: {login}")
        )
        headers.append(("X-Authenticated-Sender", f"{relay.name}: {sender}"))
        headers.append((stamp, trace_per_message(rng)))
        clues += ["relay_queue_id", "auth_header", "trace_message"]
        return headers, handed, clues
    qid = postfix_queue_id(rng)
    if via == "webmail":
        user = client
        client = Client(w.WEBMAIL.ip, w.WEBMAIL.name, w.WEBMAIL.name)
    headers.append(
        (
            "Received",
            f"from {client.helo} ({client.rdns} [{client.ip}])\n\t(Authenticated sender: "
            f"{login})\n\tby {relay.name} (Postfix) with ESMTPSA id {qid}\n\tfor <{rcpt}>;"
            f" {rfc_date(at, 120)}",
        )
    )
    if via == "webmail":
        headers.append(
            (
                "Received",
                f"from [{user.ip}]\n\tby {w.WEBMAIL.name}\n\twith HTTP (HTTP/1.1 POST); "
                f"{rfc_date(at - timedelta(seconds=1), 120)}",
            )
        )
        clues.append("webmail")
    headers.insert(0, (stamp, trace_per_batch(mailing, batch)))
    clues += ["auth_login", "relay_queue_id", "trace_mailing"]
    return headers, handed, clues


def forged_inner(rng: random.Random, at: datetime) -> list[tuple[str, str]]:
    """Received lines a spam bot writes about itself: addresses and dates made up."""
    lines = []
    for _ in range(rng.randint(0, 2)):
        ip = f"10.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
        when = at - timedelta(minutes=rng.randint(5, 600))
        lines.append(
            (
                "Received",
                f"from [{ip}] by {token(rng, string.ascii_lowercase, 6)}.local with "
                f"SMTP; {rfc_date(when, rng.choice((-300, 60, 480)))}",
            )
        )
    return lines


def utc(year: int, month: int, day: int, hour: int = 0) -> datetime:
    return datetime(year, month, day, hour, tzinfo=UTC)
