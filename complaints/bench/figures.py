"""The linking benchmark's figures: the truth of a simulated mailbox against what
the desk's database says, one figure per line."""

from collections import Counter
from pathlib import Path

from complaints.bench import scoring

SCORED_KINDS = ("complaint", "bounce")


def compute(directory: Path) -> tuple[list[tuple[str, str]], dict[str, int | None]]:
    """The figures, and the desk's mailing per file (for comparing two orders)."""
    truth_dir = directory / "truth"
    reports = scoring.read_jsonl(truth_dir / "reports.jsonl")
    accounts = scoring.read_jsonl(truth_dir / "accounts.jsonl")
    mailings = scoring.read_jsonl(truth_dir / "mailings.jsonl")
    desk = scoring.desk_outcome([r["sha256"] for r in reports])
    missing = scoring.DeskReport("missing", None, None)
    out: list[tuple[str, str]] = []

    def add(name: str, value) -> None:
        out.append((name, f"{value:.4f}" if isinstance(value, float) else str(value)))

    states = Counter(desk.get(r["sha256"], missing).state for r in reports)
    add("files", len(reports))
    add("inbound_states", " ".join(f"{k}:{v}" for k, v in sorted(states.items())))
    scored = [r for r in reports if r["kind"] in SCORED_KINDS and not r["duplicate_of"]]
    of = {r["file"]: desk.get(r["sha256"], missing) for r in reports}
    files = {r["file"]: r for r in reports}
    truth_accounts = {r["file"]: r["account"] for r in scored}
    desk_accounts = {r["file"]: of[r["file"]].account for r in scored}
    precision, recall, correct, attributed, owned = scoring.attribution(
        truth_accounts, desk_accounts
    )
    add("reports_scored", len(scored))
    add("attributed", attributed)
    add("attributed_correctly", correct)
    add("attribution_precision", precision)
    add("attribution_recall", recall)
    with_clue = {r["file"]: r["account"] for r in scored if r["account"] and r["clues"]}
    _p, recall_clue, *_rest = scoring.attribution(with_clue, desk_accounts)
    add("attribution_recall_with_clue", recall_clue)
    forged = [r for r in scored if r["forged"]]
    add("forged_reports", len(forged))
    add(
        "forged_attributed_to_anyone",
        sum(1 for r in forged if desk_accounts[r["file"]]),
    )
    wrong_owner = sum(
        1 for r in scored if r["account"] and desk_accounts[r["file"]]
        and desk_accounts[r["file"]] != r["account"]
    )  # fmt: skip
    add("attributed_to_another_subscriber", wrong_owner)
    other = [r for r in reports if r["kind"] == "other"]
    add("other_mail_attributed", sum(1 for r in other if of[r["file"]].account))

    grouped = {r["file"]: r["mailing"] for r in scored if r["mailing"]}
    desk_mailing = {f: of[f].mailing for f in grouped}
    p, r_, f1 = scoring.pairwise(grouped, desk_mailing)
    add("true_mailings", len(mailings))
    add("true_mailings_reported", len(set(grouped.values())))
    add("desk_mailings", len({m for m in desk_mailing.values() if m is not None}))
    add("mailing_pairwise_precision", p)
    add("mailing_pairwise_recall", r_)
    add("mailing_f1", f1)
    # A report that carries no clue (an inline forward of an infected PC's spam
    # keeps neither trail nor sender) can be grouped by no one; its pairs bound
    # mailing_f1 from above, and the F1 over the other reports is what grouping
    # itself decides.
    clued = {f: m for f, m in grouped.items() if files[f]["clues"]}
    add("mailing_f1_ceiling", scoring.pairwise(grouped, clued)[2])
    add("mailing_f1_with_clue", scoring.pairwise(clued, desk_mailing)[2])
    split, merged, average = scoring.split_and_merged(grouped, desk_mailing)
    add("mailings_split", split)
    add("mailings_merged", merged)
    add("desk_mailings_per_true_mailing", average)
    out += _split_and_merged_details(files, grouped, desk_mailing)

    # Either report of a resend pair may arrive first; the desk should call one
    # of the two a duplicate, and no other complaint.
    dups = [r for r in reports if r["duplicate_of"]]
    marked = {f for f, d in of.items() if d.is_duplicate}
    add("fbl_resends", len(dups))
    add(
        "fbl_resends_marked_duplicate",
        sum(1 for r in dups if {r["file"], r["duplicate_of"]} & marked),
    )
    excused = {r["duplicate_of"] for r in dups if r["file"] not in marked}
    add(
        "false_duplicates",
        sum(
            1 for r in scored
            if r["kind"] == "complaint" and r["file"] in marked and r["file"] not in excused
        ),
    )  # fmt: skip
    out += _statuses(accounts, scored, desk_accounts)
    return out, {r["file"]: of[r["file"]].mailing for r in reports}


MAX_DETAILS = 25


def _split_and_merged_details(
    files: dict[str, dict], grouped: dict[str, str], desk: dict[str, int | None]
) -> list[tuple[str, str]]:
    """One line per split true mailing and per merged desk mailing: the desk
    mailings involved (kind, subject key, seen span, reports) and the tags of
    the reports, which name the phenomena behind the error."""
    parts: dict[str, Counter] = {}
    mixed: dict[int, Counter] = {}
    for f, true in grouped.items():
        if desk[f] is not None:
            parts.setdefault(true, Counter())[desk[f]] += 1
            mixed.setdefault(desk[f], Counter())[true] += 1
    split = {t: c for t, c in parts.items() if len(c) > 1}
    merged = {d: c for d, c in mixed.items() if len(c) > 1}
    shown = scoring.desk_mailings({d for c in split.values() for d in c} | set(merged))

    def tags(keep) -> str:
        found = Counter(t for f in grouped if keep(f) for t in files[f]["tags"])
        return ",".join(t for t, _n in found.most_common(6))

    lines = []
    for true, counter in sorted(split.items())[:MAX_DETAILS]:
        desks = "; ".join(f"#{d}x{n} {shown.get(d, '?')}" for d, n in counter.items())
        lines.append(
            ("split", f"{true}: {desks} tags={tags(lambda f, t=true: grouped[f] == t)}")
        )
    for d, counter in sorted(merged.items())[:MAX_DETAILS]:
        trues = ",".join(f"{t}x{n}" for t, n in counter.items())
        lines.append(
            ("merged", f"#{d} {shown.get(d, '?')}: {trues} "
             f"tags={tags(lambda f, d=d: desk[f] == d)}")
        )  # fmt: skip
    return lines


def _statuses(
    accounts: list[dict], scored: list[dict], desk_accounts: dict[str, str | None]
) -> list[tuple[str, str]]:
    desk = scoring.desk_statuses()
    touched = {a for a in desk_accounts.values() if a}
    involved = [a for a in accounts if a["involved"] or a["account"] in touched]
    wrong = [a for a in involved if desk.get(a["account"]) != a["expected_status"]]
    right = 1 - len(wrong) / len(involved) if involved else 1.0
    blamed: dict[str, set[str]] = {}
    for r in scored:
        owner = desk_accounts[r["file"]]
        if owner and owner != r["account"]:
            blamed.setdefault(owner, set()).add("forged" if r["forged"] else "other")
    wrongly_suspended = [
        a["account"] for a in accounts
        if desk.get(a["account"]) == "suspended" and a["expected_status"] != "suspended"
    ]  # fmt: skip
    by_forged = [a for a in wrongly_suspended if "forged" in blamed.get(a, ())]
    by_other = [a for a in wrongly_suspended if "other" in blamed.get(a, ())]
    lines = [
        ("accounts_involved", str(len(involved))),
        ("status_right_count", str(len(involved) - len(wrong))),
        ("accounts_wrongly_suspended", str(len(wrongly_suspended))),
        ("suspended_by_forged_mail", str(len(by_forged))),
        ("suspended_by_another_subscribers_mail", str(len(by_other))),
        ("status_right", f"{right:.4f}"),
    ]
    for a in sorted(wrong, key=lambda a: a["account"]):
        lines.append(
            ("status_wrong", f"{a['account']} desk={desk.get(a['account'])} "
             f"expected={a['expected_status']} ({a['why']})")
        )  # fmt: skip
    return lines


def summary_line(figures: list[tuple[str, str]]) -> str:
    values = dict(figures)
    keys = ("attribution_precision", "attribution_recall", "mailing_f1", "status_right")
    return " ".join(f"{key}={values[key]}" for key in keys)
