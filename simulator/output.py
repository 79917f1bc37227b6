"""Writing a plan to disk: the billing CSV, the Maildir, the truth files and
the ISP's settings; and the final status each account should end with."""

import csv
import hashlib
import json
import random
from collections import Counter, defaultdict
from pathlib import Path

from simulator import world as w
from simulator.reports import Plan

BOGUS_MIN = 25
BOGUS_RATE = 0.10
STRIKE_LIMIT = 3


def write(plan: Plan, out: Path, rng: random.Random) -> dict[str, int]:
    if (out / "Maildir").exists() and any((out / "Maildir").rglob("*.*")):
        # Old files would mix with the new ones and contradict the new truth.
        raise FileExistsError(f"{out / 'Maildir'} already holds messages")
    out.mkdir(parents=True, exist_ok=True)
    _subscribers(plan, out / "subscribers.csv")
    (out / "isp.env").write_text(
        "".join(f"{key}={value}\n" for key, value in w.isp_env().items())
    )
    names = _maildir(plan, out / "Maildir", rng)
    truth = out / "truth"
    truth.mkdir(exist_ok=True)
    _reports(plan, names, truth / "reports.jsonl")
    _mailings(plan, truth / "mailings.jsonl")
    statuses = expected_statuses(plan)
    with (truth / "accounts.jsonl").open("w") as handle:
        for sub in plan.world.subscribers:
            status, why, involved = statuses[sub.account]
            handle.write(
                json.dumps(
                    {"account": sub.account, "expected_status": status, "why": why,
                     "involved": involved, "billing_status": sub.billing_status},
                    ensure_ascii=False,
                ) + "\n"
            )  # fmt: skip
    return {"files": len(names), "mailings": len(_true_mailings(plan))}


def _subscribers(plan: Plan, path: Path) -> None:
    rows = w.csv_rows(plan.world)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def _maildir(plan: Plan, root: Path, rng: random.Random) -> list[str]:
    """One file per report; the base name starts with the arrival time, so the
    sorted Maildir is the order the mail came in."""
    for sub in ("cur", "new", "tmp"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    names, seen = [], set()
    for n, report in enumerate(plan.reports):
        data = report.text.encode("utf-8")
        if rng.random() < 0.05:
            data = data.replace(b"\n", b"\r\n")  # saved by a Windows client
            report.tags.append("crlf")
        digest = hashlib.sha256(data).hexdigest()
        if digest in seen:
            raise ValueError(f"report {n} repeats the bytes of another")
        seen.add(digest)
        report.sha256 = digest
        base = f"{int(report.arrival.timestamp())}.M{report.arrival.microsecond:06d}P{n:05d}.store1.{w.MAIN_DOMAIN}"
        if rng.random() < 0.6:
            name = f"new/{base}"
        else:
            name = f"cur/{base}:2,S"
        (root / name).write_bytes(data)
        names.append(name)
    return names


def _reports(plan: Plan, names: list[str], path: Path) -> None:
    with path.open("w") as handle:
        for report, name in zip(plan.reports, names, strict=True):
            dup = report.duplicate_of
            handle.write(
                json.dumps(
                    {
                        "file": f"Maildir/{name}", "sha256": report.sha256,
                        "kind": report.kind, "account": report.account,
                        "forged": report.forged, "mailing": report.mailing,
                        "duplicate_of": f"Maildir/{names[dup]}" if dup is not None else None,
                        "hard_bounces": report.hard_bounces,
                        "arrival": report.arrival.isoformat(),
                        "clues": report.clues, "tags": sorted(set(report.tags)),
                    },
                    ensure_ascii=False,
                ) + "\n"
            )  # fmt: skip


def _true_mailings(plan: Plan):
    return [m for m in plan.mailings if m.kind != "joejob"]


def _mailings(plan: Plan, path: Path) -> None:
    complaints, hard = _tallies(plan)
    with path.open("w") as handle:
        for m in _true_mailings(plan):
            handle.write(
                json.dumps(
                    {
                        "mailing": m.id, "account": m.account, "kind": m.kind,
                        "compromised": m.compromised, "recipients": m.recipients,
                        "archetype": m.archetype, "start": m.start.isoformat(),
                        "hours": round(m.hours, 2), "complaints": complaints[m.id],
                        "hard_bounces": hard[m.id], "bogus": _is_storm(m, hard[m.id]),
                        "tags": m.tags,
                    },
                    ensure_ascii=False,
                ) + "\n"
            )  # fmt: skip


def _tallies(plan: Plan) -> tuple[Counter, Counter]:
    complaints, hard = Counter(), Counter()
    for report in plan.reports:
        if report.forged or report.mailing is None:
            continue
        if report.kind == "complaint":
            complaints[report.mailing] += 1
        hard[report.mailing] += report.hard_bounces
    return complaints, hard


def _is_storm(m, hard: int) -> bool:
    return hard >= BOGUS_MIN and hard >= BOGUS_RATE * m.recipients


def expected_statuses(plan: Plan) -> dict[str, tuple[str, str, bool]]:
    """DESIGN.md with automatic strikes: a compromised mailing restricts (no
    strike); any other mailing with a complaint or a bounce storm is a strike;
    a storm suspends at once, three strikes suspend; forged mail counts for
    nobody. Suspension wins over restriction."""
    complaints, hard = _tallies(plan)
    per_account = defaultdict(list)
    for m in _true_mailings(plan):
        per_account[m.account].append(m)
    victims = {m.sender for m in plan.mailings if m.kind == "joejob"}
    victim_accounts = {
        sub.account for sub in plan.world.subscribers if sub.address in victims
    }
    result = {}
    for sub in plan.world.subscribers:
        mailings = per_account.get(sub.account, [])
        strikes = [m for m in mailings if not m.compromised
                   and (complaints[m.id] or _is_storm(m, hard[m.id]))]  # fmt: skip
        storms = [m for m in strikes if _is_storm(m, hard[m.id])]
        secured = [m for m in mailings if m.compromised and complaints[m.id]]
        involved = bool(mailings) or sub.account in victim_accounts
        if storms:
            result[sub.account] = (
                "suspended",
                f"bounce storm {storms[0].id}",
                involved,
            )
        elif len(strikes) >= STRIKE_LIMIT:
            ids = ", ".join(m.id for m in strikes)
            result[sub.account] = (
                "suspended",
                f"{len(strikes)} strikes ({ids})",
                involved,
            )
        elif secured:
            result[sub.account] = (
                "restricted",
                f"compromised {secured[0].id}",
                involved,
            )
        elif strikes:
            result[sub.account] = (
                "active",
                f"{len(strikes)} strike(s), warned",
                involved,
            )
        elif sub.account in victim_accounts:
            result[sub.account] = (
                "active",
                "joe-job victim: forged mail only",
                involved,
            )
        else:
            result[sub.account] = ("active", "no eligible mailing", involved)
    return result
