"""Who sends what: archetypes of subscribers and their true mailings (campaigns,
outbreaks, joe-jobs); ``reports`` turns them into the mailbox."""

import random
from datetime import datetime, timedelta

from simulator import mailings as ml
from simulator import reports, sent, subjects
from simulator import world as w
from simulator.reports import Plan

SCALES = {
    "default": dict(subscribers=300, one=40, two=9, three=8, storm=6, infected=12,
                    stolen=10, bounce_only=10, joejob=8, mixed=3, factor=1.0, noise=250),
    "small": dict(subscribers=60, one=6, two=2, three=1, storm=1, infected=2, stolen=2,
                  bounce_only=1, joejob=2, mixed=1, factor=0.8, noise=45),
}  # fmt: skip


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
            first = None
            for n in range(mailings_each):
                m = _campaign(rng, world, sub, new_id(), archetype, n)
                if first is not None and rng.random() < 0.5:
                    # The weekly newsletter: same subject, a new mailing each week.
                    m.subject = first.subject
                    m.tags.append("same_subject_new_mailing")
                first = first or m
                plan.mailings.append(m)
    for n, sub in enumerate(infected):
        plan.mailings.append(_infected(rng, world, sub, new_id(), first=n == 0))
        if n >= cfg["infected"]:
            plan.mailings.append(_campaign(rng, world, sub, new_id(), "mixed", 0))
    for n in range(cfg["stolen"]):
        plan.mailings.append(_stolen(rng, world, next(pick), new_id(), first=n == 0))
    for _ in range(cfg["joejob"]):
        victim = next(pick)
        plan.mailings.append(_joejob(rng, world, victim, new_id()))
    _share_newsletters(rng, plan.mailings)
    by_account = world.by_account()
    for m in plan.mailings:
        reports.for_mailing(
            rng, plan, m, by_account.get(m.account or m.login), cfg["factor"]
        )
    reports.add_noise(rng, plan, cfg["noise"])
    return plan


def _when(rng: random.Random, world: w.World, n: int = 0) -> datetime:
    # Repeat senders' mailings are at least a week apart (a new issue, a new
    # incident), counted from the end of the previous one's re-send.
    base = world.start + timedelta(days=n * 10 + rng.uniform(0.5, 2.5))
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
    elif rng.random() < 0.2:
        # Re-sent one to three days later to those who did not open it: the same
        # newsletter, the same mailing.
        first_hours = m.hours
        m.hours += rng.uniform(0.5, 4)
        m.gap_after, m.gap = first_hours, timedelta(hours=rng.uniform(24, 72))
        m.resend_prefix = subjects.resend_prefix(rng, m.language)
        m.tags.append("campaign_resent")
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
    gap_after, gap = 0.0, timedelta(0)
    resumed = hours + 12
    if rng.random() < 0.4 and (
        lease.end is None or lease.end > start + timedelta(hours=resumed + 30)
    ):
        # Switched off for the night and on again: the same infection goes on.
        gap_after = rng.uniform(0.3, 0.7) * hours
        gap = timedelta(hours=rng.uniform(8, 30))
        tags.append("outbreak_paused")
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
        gap_after=gap_after, gap=gap,
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
    m = ml.Mailing(
        id=mid, account=sub.account, kind="outbreak", compromised=True,
        archetype="stolen_password", start=_when(rng, world, rng.randint(0, 2)),
        hours=rng.uniform(1, 6), recipients=rng.randint(500, 3000), language=sub.language,
        sender=login.address, sender_name=sub.name, login=login.login, via=via,
        forged_from=forged, tags=["outbreak", "stolen_password", "foreign_login"],
    )  # fmt: skip
    if rng.random() < 0.4:
        # The thief comes back the next day with the same password.
        m.gap_after = rng.uniform(0.3, 0.7) * m.hours
        m.gap = timedelta(hours=rng.uniform(8, 30))
        m.tags.append("outbreak_paused")
    return m


def _share_newsletters(rng: random.Random, mailings: list[ml.Mailing]) -> None:
    """Two subscribers send the same newsletter (a franchise's shops, an agency's
    clients): same subject, same hour, separate mailings of separate accounts."""
    ones = [m for m in mailings if m.archetype == "one_complaint" and not m.gap]
    for first, second in zip(ones[0:6:2], ones[1:6:2], strict=False):
        second.subject, second.language = first.subject, first.language
        second.subject_style = first.subject_style
        second.start = first.start + timedelta(minutes=rng.randint(5, 120))
        first.tags.append("shared_newsletter")
        second.tags.append("shared_newsletter")


def _joejob(rng, world: w.World, victim: w.Subscriber, mid: str) -> ml.Mailing:
    return ml.Mailing(
        id=mid, account=None, kind="joejob", compromised=False, archetype="joejob",
        start=_when(rng, world, rng.randint(0, 2)), hours=rng.uniform(2, 20),
        recipients=0, language="en", subject=subjects.spam_subject(rng),
        sender=victim.address, sender_name=victim.name, via="foreign",
        login=victim.account, tags=["joe_job", "forged"],
    )  # fmt: skip
