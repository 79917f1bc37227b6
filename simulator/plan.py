"""Who sends what: archetypes of subscribers, their true mailings, and every
report those mailings (and the joe-jobs) draw into the abuse mailbox."""

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from simulator import dsn, fbl, human, noise, sent, subjects
from simulator import mailings as ml
from simulator import world as w
from simulator.providers import FBL_PROVIDERS, HUMAN_PROVIDERS

SCALES = {
    "default": dict(subscribers=300, one=36, two=8, three=8, storm=6, infected=12,
                    stolen=10, bounce_only=10, joejob=8, mixed=3, factor=1.0, noise=250),
    "small": dict(subscribers=60, one=6, two=2, three=1, storm=1, infected=2, stolen=2,
                  bounce_only=1, joejob=2, mixed=1, factor=0.8, noise=45),
}  # fmt: skip
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


def build(rng: random.Random, scale: str, start: datetime, days: int = 28) -> Plan:
    cfg = SCALES[scale]
    world = w.build(rng, count=cfg["subscribers"], start=start, days=days)
    plan = Plan(world)
    homes = [s for s in world.subscribers if s.kind == "home"]
    business = [s for s in world.subscribers if s.kind == "business"]
    rng.shuffle(homes)
    rng.shuffle(business)
    infected = [homes.pop() for _ in range(cfg["infected"] + cfg["mixed"])]
    senders = business + homes  # businesses send most newsletters
    pick = iter(senders)
    counter = iter(range(1, 10_000))

    def new_id() -> str:
        return f"M{next(counter):04d}"

    for archetype, count, mailings_each in (
        ("three_mailings", cfg["three"], 3), ("two_mailings", cfg["two"], 2),
        ("one_complaint", cfg["one"], 1), ("bounce_only", cfg["bounce_only"], 1),
        ("storm", cfg["storm"], 1),
    ):  # fmt: skip
        for _ in range(count):
            sub = next(pick)
            for n in range(mailings_each):
                plan.mailings.append(_campaign(rng, world, sub, new_id(), archetype, n))
    for n, sub in enumerate(infected):
        plan.mailings.append(_infected(rng, world, sub, new_id(), first=n == 0))
        if n >= cfg["infected"]:
            plan.mailings.append(_campaign(rng, world, sub, new_id(), "mixed", 0))
    for n in range(cfg["stolen"]):
        plan.mailings.append(_stolen(rng, world, next(pick), new_id(), first=n == 0))
    for _ in range(cfg["joejob"]):
        victim = next(pick)
        plan.mailings.append(_joejob(rng, world, victim, new_id()))
    by_account = world.by_account()
    for m in plan.mailings:
        _reports_for(rng, plan, m, by_account.get(m.account or m.login), cfg["factor"])
    _noise(rng, plan, cfg["noise"])
    return plan


def _when(rng: random.Random, world: w.World, n: int = 0) -> datetime:
    # Repeat senders' mailings are at least a week apart: separate incidents.
    base = world.start + timedelta(days=n * 8 + rng.uniform(0.5, 6.5))
    return base.replace(minute=rng.randint(0, 59), second=rng.randint(0, 59))


def _campaign(
    rng, world, sub: w.Subscriber, mid: str, archetype: str, n: int
) -> ml.Mailing:
    via = rng.choices(("relay1", "relay2", "webmail"), weights=(6, 3, 1))[0]
    if sub.kind == "home":
        via = rng.choice(("relay1", "webmail"))
    sender = sub.logins[1] if sub.kind == "business" else sub.logins[0]
    m = ml.Mailing(
        id=mid, account=sub.account, kind="campaign", compromised=False,
        archetype=archetype, start=_when(rng, world, n), hours=rng.uniform(0.5, 8),
        recipients=rng.randint(300, 8000), language=sub.language,
        subject=subjects.campaign_subject(rng, sub.language),
        subject_style=rng.choice(("plain", "tracking", "greeting", "both", "both")),
        sender=sender.address, sender_name=sub.name, login=sender.login, via=via,
        ipv6=bool(sub.v6_prefix()) and rng.random() < 0.5, tags=[archetype],
        verp=sub.kind == "business" and rng.random() < 0.4, html=rng.random() < 0.5,
    )  # fmt: skip
    if archetype == "storm":
        m.bogus, m.recipients = True, rng.randint(250, 600)
        m.tags.append("bounce_storm")
    if archetype == "three_mailings":
        m.tags.append("repeat_offender")
    if archetype == "one_complaint":
        m.tags.append("legit_one_newsletter")
    return m


def _infected(
    rng, world: w.World, sub: w.Subscriber, mid: str, *, first: bool
) -> ml.Mailing:
    """An infected PC: straight to MX from its dynamic address, its clock hours
    off, picked so that the forged Date falls into the previous holder's lease."""
    leases = [
        le for le in sub.v4_leases() if le.start > world.start + timedelta(days=1)
    ]
    lease = rng.choice(leases) if leases else sub.v4_leases()[-1]
    start = lease.start + timedelta(minutes=rng.randint(20, 90))
    hours = rng.uniform(2, 10)
    if lease.end is not None:
        hours = max(0.5, min(hours, (lease.end - start).total_seconds() / 3600 - 0.3))
    skew = timedelta(hours=rng.choice((-9, -7, -5, -3, 4, 6)))
    tags = ["outbreak", "infected_direct_mx", "clock_forged_date"]
    before = [
        (le, acct)
        for le, acct in world.holders.get(lease.network, ())
        if le.end is not None and le.end <= lease.start and acct != sub.account
    ]
    if before:
        previous = before[-1][0]
        # Land the forged Date inside the previous customer's lease.
        skew = -(start - previous.end) - timedelta(minutes=rng.randint(30, 120))
        tags.append("clock_reassigned_ip")
    others = [s for s in world.subscribers if s.account != sub.account]
    forged = [f"{sent.token(rng, 'abcdefghijklmnopqrstuvwxyz', 7)}@{d}" for d in
              ("outlook.example", "gmx-like.example", "yahoo-like.example", "mail-shop.example")]  # fmt: skip
    if first or rng.random() < 0.6:
        forged += [rng.choice(others).address for _ in range(rng.randint(1, 3))]
        tags.append("forged_from_other_subscriber")
    return ml.Mailing(
        id=mid, account=sub.account, kind="outbreak", compromised=True,
        archetype="infected", start=start, hours=hours,
        recipients=rng.randint(500, 3000), language=sub.language, via="direct",
        forged_from=forged, date_skew=skew, login=sub.login,
        ipv6=bool(sub.v6_prefix()) and rng.random() < 0.4, tags=tags,
    )  # fmt: skip


def _stolen(
    rng, world: w.World, sub: w.Subscriber, mid: str, *, first: bool
) -> ml.Mailing:
    login = sub.logins[0]
    # A phished webmail password is the classic case; one always is.
    via = "webmail" if first else rng.choice(("relay1", "relay2", "webmail"))
    forged = [login.address] * 3 + [
        f"{sent.token(rng, 'abcdefghijklmnopqrstuvwxyz', 6)}@secure-bank.example"
    ]
    return ml.Mailing(
        id=mid, account=sub.account, kind="outbreak", compromised=True,
        archetype="stolen_password", start=_when(rng, world, rng.randint(0, 2)),
        hours=rng.uniform(1, 6), recipients=rng.randint(500, 3000), language=sub.language,
        sender=login.address, sender_name=sub.name, login=login.login, via=via,
        forged_from=forged, tags=["outbreak", "stolen_password", "foreign_login"],
    )  # fmt: skip


def _joejob(rng, world: w.World, victim: w.Subscriber, mid: str) -> ml.Mailing:
    return ml.Mailing(
        id=mid, account=None, kind="joejob", compromised=False, archetype="joejob",
        start=_when(rng, world, rng.randint(0, 2)), hours=rng.uniform(2, 20),
        recipients=0, language="en", subject=subjects.spam_subject(rng),
        sender=victim.address, sender_name=victim.name, via="foreign",
        login=victim.account, tags=["joe_job", "forged"],
    )  # fmt: skip


def _reports_for(rng, plan: Plan, m: ml.Mailing, sub, factor: float) -> None:
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


def _noise(rng, plan: Plan, count: int) -> None:
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
