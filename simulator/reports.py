"""The reports true mailings and joe-jobs draw into the abuse mailbox:
feedback-loop reports, people's complaints, bounces and blocklist notices, each
with the truth it stands for; and the mailbox's other mail."""

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from simulator import dsn, fbl, human, noise, sent
from simulator import mailings as ml
from simulator import world as w
from simulator.providers import FBL_PROVIDERS, HUMAN_PROVIDERS

COMPLAINTS = (1, 1, 1, 2, 2, 3, 4, 6, 9, 14, 22, 35, 50)
HUMAN_STYLES = ("forward", "forward", "reply", "pasted", "pasted", "attached")
# Every client a person may complain from; half the human complaints walk this
# list in turn so that even a small mailbox has each of them.
CLIENTS = (
    ("forward", "en", "gmail"), ("forward", "en", "outlook"), ("forward", "en", "apple"),
    ("forward", "de", ""), ("forward", "fr", ""), ("forward", "es", ""),
    ("forward", "nl", ""), ("reply", "en", "gmail"), ("reply", "en", "apple"),
    ("reply", "de", ""), ("reply", "fr", ""), ("reply", "es", ""), ("reply", "nl", ""),
    ("pasted", "", ""), ("attached", "", ""),
)  # fmt: skip


@dataclass
class Report:
    text: str
    arrival: datetime
    kind: str  # complaint | bounce | other
    account: str | None = None
    forged: bool = False
    mailing: str | None = None
    tags: list[str] = field(default_factory=list)
    clues: list[str] = field(default_factory=list)
    duplicate_of: int | None = None  # index of the report this one repeats
    hard_bounces: int = 0
    sha256: str = ""


@dataclass
class Plan:
    world: w.World
    mailings: list[ml.Mailing] = field(default_factory=list)
    reports: list[Report] = field(default_factory=list)
    humans: int = 0  # human complaints so far, for walking CLIENTS

    def next_client(self, rng: random.Random) -> tuple[str, str, str]:
        self.humans += 1
        if self.humans % 2:
            return CLIENTS[(self.humans // 2) % len(CLIENTS)]
        return rng.choice(HUMAN_STYLES), "", ""


def for_mailing(rng, plan: Plan, m: ml.Mailing, sub, factor: float) -> None:
    if m.kind == "joejob":
        _joejob_reports(rng, plan, m, factor)
        return
    if m.kind == "outbreak":
        complaints = max(3, int(rng.randint(15, 60) * factor))
        hard_cap, bounces = 12, max(1, int(rng.randint(2, 10) * factor))
    else:
        complaints = max(1, int(rng.choice(COMPLAINTS) * (factor if factor < 1 else 1)))
        if m.archetype == "one_complaint" and rng.random() < 0.4:
            complaints = 1
        if m.archetype == "bounce_only":
            complaints = 0
        if m.archetype == "storm":
            complaints = rng.randint(0, 2)
        hard_cap, bounces = 12, int(rng.randint(0, 8) * max(factor, 0.4))
    for _ in range(complaints):
        _complaint(rng, plan, m, sub)
    if m.archetype == "storm":
        _storm(rng, plan, m, sub)
    else:
        _bounces(rng, plan, m, sub, bounces, hard_cap)
    if m.archetype == "infected":
        for _ in range(rng.randint(1, 2)):
            copy = ml.outbreak_copy(rng, m, sub, rng.choice(HUMAN_PROVIDERS))
            at = copy.received_at + timedelta(hours=rng.uniform(1, 20))
            text = human.blocklist_notice(rng, copy.client_ip, copy.received_at, at)
            _add(
                plan,
                m,
                text,
                at,
                "complaint",
                copy.tags + ["blocklist_notice"],
                ["client_ip"],
            )


def _copy(rng, m: ml.Mailing, sub, provider, **kw) -> sent.Copy:
    if m.via == "direct":
        return ml.outbreak_copy(rng, m, sub, provider)
    return ml.campaign_copy(rng, m, sub, provider, **kw)


def _complaint(rng, plan: Plan, m: ml.Mailing, sub) -> None:
    if rng.random() < 0.62:
        provider = rng.choice(FBL_PROVIDERS)
        pair = provider.fbl in ("skymail", "libra") and rng.random() < 0.25
        copy = _copy(
            rng,
            m,
            sub,
            provider,
            **({"second_recipient": True} if pair and m.via != "direct" else {}),
        )
        for rcpt in copy.recipients:
            at = copy.received_at + timedelta(minutes=rng.expovariate(1 / 240) + 1)
            text, tags = fbl.report(rng, copy, rcpt, at)
            if len(copy.recipients) > 1:
                tags.append("fbl_two_recipients")
            index = _add(plan, m, text, at, "complaint", copy.tags + tags, copy.clues)
            if rng.random() < 0.05:
                later = at + timedelta(hours=rng.uniform(1, 30))
                again, _t = fbl.report(
                    rng, copy, rcpt, later, msgid=fbl.new_msgid(rng, provider)
                )
                plan.reports[index].tags.append("fbl_resent_original")
                _add(plan, m, again, later, "complaint", copy.tags + tags + ["fbl_resend"],
                     copy.clues, duplicate_of=index)  # fmt: skip
        return
    provider = rng.choice(HUMAN_PROVIDERS)
    copy = _copy(rng, m, sub, provider)
    style, language, variant = plan.next_client(rng)
    at = copy.received_at + timedelta(minutes=rng.expovariate(1 / 600) + 3)
    text, tags = human.complaint(
        rng, copy, copy.recipients[0], at, style, language, variant
    )
    clues = copy.clues if style in ("pasted", "attached") else _sender_clue(m, copy)
    _add(plan, m, text, at, "complaint", copy.tags + tags, clues)


def _sender_clue(m: ml.Mailing, copy: sent.Copy) -> list[str]:
    """An inline forward keeps only From: a clue only when it is the sender's own."""
    return ["sender_unverified"] if copy.from_addr == m.sender and m.sender else []


def _bounces(rng, plan: Plan, m: ml.Mailing, sub, count: int, hard_cap: int) -> None:
    hard_total = 0
    for _ in range(count):
        provider = rng.choice(FBL_PROVIDERS + HUMAN_PROVIDERS)
        copy = _copy(rng, m, sub, provider)
        hard = hard_total < hard_cap and rng.random() < 0.35
        _bounce(rng, plan, m, copy, [copy.recipients[0]], hard=hard)
        hard_total += hard


def _storm(rng, plan: Plan, m: ml.Mailing, sub) -> None:
    target = max(30, int(m.recipients * 0.15)) + rng.randint(0, 15)
    hard_total = 0
    while hard_total < target:
        provider = rng.choice(FBL_PROVIDERS + HUMAN_PROVIDERS)
        copy = ml.campaign_copy(rng, m, sub, provider, bogus=True)
        extra = [
            ml.recipient(rng, provider, bogus=True)[0]
            for _ in range(rng.choice((0, 0, 1, 2)))
        ]
        hard_total += _bounce(
            rng, plan, m, copy, copy.recipients + extra, hard=rng.random() < 0.92
        )


def _bounce(
    rng, plan: Plan, m: ml.Mailing, copy: sent.Copy, rcpts: list[str], *, hard: bool
) -> int:
    relay_made = copy.via in ("relay1", "webmail", "relay2") and rng.random() < 0.6
    if relay_made:
        style = "exim" if copy.via == "relay2" else "postfix"
    else:
        style = {"gmail": "gmail", "exchange": "exchange", "exim": "qmail"}.get(
            copy.provider.mx_style, "postfix")  # fmt: skip
        if style == "postfix" and rng.random() < 0.3:
            style = "exim"
        if relay_made is False and copy.via in ("relay1", "webmail", "relay2"):
            copy.via = "remote"  # the bounce comes from the recipient's side
    failures = [dsn.failure(rng, r, hard=hard, style=style) for r in rcpts]
    at = copy.received_at + timedelta(seconds=rng.randint(2, 900))
    to = copy.envelope_from or copy.from_addr
    text = dsn.bounce(rng, style, copy, failures, at, to=to)
    hard_count = sum(f.hard for f in failures)
    _add(
        plan,
        m,
        text,
        at,
        "bounce",
        copy.tags + [f"dsn_{style}"],
        copy.clues,
        hard=hard_count,
    )
    return hard_count


def _joejob_reports(rng, plan: Plan, m: ml.Mailing, factor: float) -> None:
    for _ in range(max(2, int(rng.randint(8, 25) * factor))):
        copy = ml.joejob_copy(rng, m, rng.choice(HUMAN_PROVIDERS))
        at = copy.received_at + timedelta(minutes=rng.randint(5, 900))
        text, tags = human.complaint(rng, copy, copy.recipients[0], at,
                                     rng.choice(("forward", "pasted", "attached")))  # fmt: skip
        _add(plan, m, text, at, "complaint", copy.tags + tags, [], forged=True)
    for _ in range(max(1, int(rng.randint(2, 6) * factor))):
        provider = rng.choice(
            [p for p in FBL_PROVIDERS if p.fbl in ("spamnet", "skymail")]
        )
        copy = ml.joejob_copy(rng, m, provider)
        at = copy.received_at + timedelta(minutes=rng.randint(5, 600))
        text, tags = fbl.report(rng, copy, copy.recipients[0], at)
        _add(plan, m, text, at, "complaint", copy.tags + tags, [], forged=True)
    for _ in range(max(3, int(rng.randint(10, 40) * factor))):
        provider = rng.choice(FBL_PROVIDERS + HUMAN_PROVIDERS)
        copy = ml.joejob_copy(rng, m, provider)
        style = rng.choice(("qmail", "exchange", "postfix", "exim", "gmail"))
        failures = [
            dsn.failure(rng, copy.recipients[0], hard=rng.random() < 0.8, style=style)
        ]
        at = copy.received_at + timedelta(seconds=rng.randint(5, 3600))
        text = dsn.bounce(rng, style, copy, failures, at, to=m.sender)
        _add(plan, m, text, at, "bounce", copy.tags + ["backscatter", f"dsn_{style}"], [],
             forged=True, hard=sum(f.hard for f in failures))  # fmt: skip


def add_noise(rng, plan: Plan, count: int) -> None:
    world = plan.world
    for _ in range(count):
        at = world.start + timedelta(
            seconds=rng.uniform(0, (world.end - world.start).total_seconds())
        )
        maker = rng.choices(
            (noise.auto_reply, noise.junk, noise.challenge), weights=(5, 4, 1)
        )[0]
        text, tags = maker(rng, at)
        plan.reports.append(Report(text=text, arrival=at, kind="other", tags=tags))


def _add(plan: Plan, m: ml.Mailing, text: str, at: datetime, kind: str, tags: list[str],
         clues: list[str], *, forged: bool = False, duplicate_of: int | None = None,
         hard: int = 0) -> int:  # fmt: skip
    plan.reports.append(
        Report(
            text=text, arrival=at, kind=kind,
            account=None if forged else m.account, forged=forged,
            mailing=None if forged else m.id,
            tags=list(dict.fromkeys(m.tags + tags)), clues=list(dict.fromkeys(clues)),
            duplicate_of=duplicate_of, hard_bounces=hard,
        )
    )  # fmt: skip
    return len(plan.reports) - 1
