"""The mail systems on the receiving side: eight feedback-loop providers, each
with its own MX, clock, Received style and way of redacting the complainant,
and the small systems whose users complain by hand."""

from dataclasses import dataclass

from simulator import names


@dataclass(frozen=True)
class Provider:
    key: str
    domain: str
    mx: str
    tz_minutes: int  # offset of the MX's clock in its Received lines
    mx_style: str  # postfix | gmail | exchange | exim
    fbl: str  # feedback-loop style, "" for none
    fbl_from: str = ""
    language: str = "en"


FBL_PROVIDERS = (
    Provider(
        "skymail", "skymail.example", "mta7.am0.skymail.example", -240, "postfix",
        "skymail", "feedback@arf.skymail.example",
    ),
    Provider(
        "outpost", "outpost.example", "mail-db3eur04on0812.outpost.example", 0,
        "exchange", "outpost", "staff@jmrp.outpost.example",
    ),
    Provider(
        "comnet", "comnet.example", "resimta-po-21v.sys.comnet.example", -240,
        "postfix", "comnet", "feedbackloop@comnet.example",
    ),
    Provider(
        "poshta", "poshta.example", "mxs.poshta.example", 180, "exim", "poshta",
        "fbl@corp.poshta.example", "en",
    ),
    Provider(
        "fastpost", "fastpost.example", "mx3.messagingengine.fastpost.example", 600,
        "postfix", "fastpost", "abuse-reports@fastpost.example",
    ),
    Provider(
        "webpost", "webpost.example", "mx-ha01.webpost.example", 120, "postfix",
        "webpost", "fbl@webpost.example", "de",
    ),
    Provider(
        "libra", "libra.example", "smtp-in.libra.example", 120, "exim", "libra",
        "fbl@libra.example", "fr",
    ),
    Provider(
        "spamnet", "spamnet-users.example", "mx.gmail-like.example", -420, "gmail",
        "spamnet", "spamnet@reports.spamnet.example",
    ),
)  # fmt: skip

HUMAN_PROVIDERS = tuple(
    Provider(f"human:{domain}", domain, mx, 120, style, "")
    for (domain, mx), style in zip(
        names.HUMAN_MX.items(),
        ("postfix", "exim", "exchange", "gmail") * 3,
        strict=False,
    )
)
