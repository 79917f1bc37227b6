"""Scoring the desk's linking against a simulated mailbox's truth.

The maths is pure (``pairwise``, ``split_and_merged``, ``attribution``) and
table-tested; ``desk_outcome`` reads what the desk decided, per file, matched to
the truth by the SHA-256 of the file's bytes (InboundMessage.sha256).

Reports that the truth marks as a resend of another (``duplicate_of``) are left
out of attribution and grouping and scored on their own: the desk should call
them duplicates.
"""

import json
from collections import Counter, defaultdict
from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from pathlib import Path

from accounts.models import Subscriber
from complaints.models import Bounce, Complaint, InboundMessage, Mailing


@dataclass(frozen=True)
class DeskReport:
    """What the desk made of one file."""

    state: str  # InboundMessage.state, "missing" when never stored
    account: str | None
    mailing: int | None
    is_duplicate: bool = False


def _pairs(n: int) -> int:
    return n * (n - 1) // 2


def pairwise(
    truth: Mapping[Hashable, Hashable], desk: Mapping[Hashable, Hashable | None]
) -> tuple[float, float, float]:
    """Pairwise precision, recall and F1 of the desk's grouping of the items in
    ``truth``: a pair is predicted when both items share a desk group, relevant
    when they share a true group. An item without a desk group (None or absent)
    pairs with nothing. Counted from the contingency table, not pair by pair.
    With no pair on one side the corresponding figure is 1.0 (nothing wrong)."""
    cells = Counter()
    desk_sizes = Counter()
    truth_sizes = Counter(truth.values())
    for item, label in truth.items():
        group = desk.get(item)
        if group is None:
            continue
        cells[(label, group)] += 1
        desk_sizes[group] += 1
    both = sum(_pairs(n) for n in cells.values())
    predicted = sum(_pairs(n) for n in desk_sizes.values())
    relevant = sum(_pairs(n) for n in truth_sizes.values())
    precision = both / predicted if predicted else 1.0
    recall = both / relevant if relevant else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def split_and_merged(
    truth: Mapping[Hashable, Hashable], desk: Mapping[Hashable, Hashable | None]
) -> tuple[int, int, float]:
    """(true groups spread over more than one desk group, desk groups holding
    items of more than one true group, desk groups per true group on average)."""
    spread: dict[Hashable, set] = defaultdict(set)
    mixed: dict[Hashable, set] = defaultdict(set)
    for item, label in truth.items():
        group = desk.get(item)
        if group is None:
            continue
        spread[label].add(group)
        mixed[group].add(label)
    split = sum(1 for groups in spread.values() if len(groups) > 1)
    merged = sum(1 for labels in mixed.values() if len(labels) > 1)
    average = sum(len(g) for g in spread.values()) / len(spread) if spread else 0.0
    return split, merged, average


def attribution(
    truth: Mapping[Hashable, str | None], desk: Mapping[Hashable, str | None]
) -> tuple[float, float, int, int, int]:
    """(precision, recall, correct, attributed, with an account) of the desk's
    subscriber per report. Precision over every report the desk attributed
    (attributing a forged report is wrong); recall over reports whose truth
    has an account."""
    attributed = [item for item in truth if desk.get(item)]
    correct = sum(1 for item in attributed if desk[item] == truth[item])
    owned = sum(1 for account in truth.values() if account)
    found = sum(
        1 for item, account in truth.items() if account and desk.get(item) == account
    )
    precision = correct / len(attributed) if attributed else 1.0
    recall = found / owned if owned else 1.0
    return precision, recall, correct, len(attributed), owned


def read_jsonl(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def desk_outcome(shas: list[str]) -> dict[str, DeskReport]:
    """The desk's decision per file SHA-256: the complaint's subscriber and
    mailing, else the most common of its bounces'."""
    inbound = dict(
        InboundMessage.objects.filter(sha256__in=shas).values_list("pk", "sha256")
    )
    states = dict(
        InboundMessage.objects.filter(pk__in=inbound).values_list("pk", "state")
    )
    found: dict[int, tuple[str | None, int | None, bool]] = {}
    for pk, account, mailing, state in Complaint.objects.filter(
        inbound_id__in=inbound
    ).values_list("inbound_id", "subscriber__account_number", "mailing_id", "state"):
        found[pk] = (account, mailing, state == Complaint.State.DUPLICATE)
    votes: dict[int, Counter] = defaultdict(Counter)
    for pk, account, mailing in Bounce.objects.filter(
        inbound_id__in=inbound
    ).values_list("inbound_id", "subscriber__account_number", "mailing_id"):
        votes[pk][(account, mailing)] += 1
    for pk, counter in votes.items():
        if pk not in found:
            (account, mailing), _n = counter.most_common(1)[0]
            found[pk] = (account, mailing, False)
    result = {}
    for pk, sha in inbound.items():
        account, mailing, dup = found.get(pk, (None, None, False))
        result[sha] = DeskReport(states[pk], account, mailing, dup)
    return result


def desk_mailings(ids) -> dict[int, str]:
    """A short description of each desk mailing, for the split/merged lines."""
    rows = Mailing.objects.filter(pk__in=ids).values_list(
        "pk", "kind", "normalized_subject", "first_seen", "last_seen"
    )
    return {
        pk: f"{kind} '{subject[:40]}' {first:%m-%d %H:%M}..{last:%m-%d %H:%M}"
        for pk, kind, subject, first, last in rows
    }


def desk_statuses() -> dict[str, str]:
    return dict(Subscriber.objects.values_list("account_number", "status"))
