"""Score a parser against a labelled corpus: kind, recipients, hard flag.

Pure: the benchmark command loads the corpus and runs the parsers; this
module compares what each parser said with what each file is known to be.

* **kind**: the file's kind is right (a parser that only detects bounces,
  like flufl.bounce, is scored on bounce or not);
* **recipients exact**: the set of failed recipients is exactly right, each
  named by the address the sender mailed (Original-Recipient when given);
* **hard**: for each expected failed recipient, it was found and its hard
  flag is right; *false hard* counts recipients called hard that are not.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from .report import Report


@dataclass(frozen=True)
class Expected:
    """What one corpus file is: kind (None when unlabelled) and recipients."""

    path: Path
    kind: str | None
    # mailed address -> hard flag (None when the corpus gives none)
    recipients: dict[str, bool | None]
    system: str


@dataclass(frozen=True)
class Prediction:
    kind: str
    # mailed address -> hard flag
    failed: dict[str, bool]


@dataclass
class Scores:
    files: int = 0
    kind_total: int = 0
    kind_right: int = 0
    exact_right: int = 0
    hard_total: int = 0
    hard_right: int = 0
    false_hard: int = 0
    misses: list[str] = field(default_factory=list)

    def add(self, expected: Expected, got: Prediction, *, bounce_only: bool) -> None:
        self.files += 1
        wrong = []
        if expected.kind is not None:
            self.kind_total += 1
            if bounce_only:
                right = (expected.kind == "bounce") == (got.kind == "bounce")
            else:
                right = expected.kind == got.kind
            self.kind_right += right
            if not right:
                wrong.append(f"kind {got.kind}")
        if set(got.failed) == set(expected.recipients):
            self.exact_right += 1
        else:
            wrong.append(f"recipients {sorted(got.failed)}")
        for address, hard in expected.recipients.items():
            if hard is None:
                continue
            self.hard_total += 1
            found = got.failed.get(address)
            self.hard_right += found is hard
            if found is not hard:
                wrong.append(f"hard {address}={found}")
        self.false_hard += sum(
            1
            for address, hard in got.failed.items()
            if hard and expected.recipients.get(address) is False
        )
        if wrong:
            self.misses.append(f"{expected.path.name}: {'; '.join(wrong)}")

    @staticmethod
    def _pct(right: int, total: int) -> str:
        return f"{100 * right / total:.1f} %" if total else "-"

    def summary(self) -> str:
        return (
            f"kind {self._pct(self.kind_right, self.kind_total)}"
            f" ({self.kind_right}/{self.kind_total}),"
            f" recipients exact {self._pct(self.exact_right, self.files)}"
            f" ({self.exact_right}/{self.files}),"
            f" hard {self._pct(self.hard_right, self.hard_total)}"
            f" ({self.hard_right}/{self.hard_total}), {self.false_hard} false hard"
        )


def predict(report: Report) -> Prediction:
    """What ``classify`` said, in the corpus's terms."""
    failed = {
        r.sent_to.lower(): r.is_hard
        for r in report.recipients
        if r.action not in ("delivered", "relayed", "expanded")
    }
    return Prediction(str(report.kind), failed)


def _recipients(entry: dict) -> dict[str, bool | None]:
    found: dict[str, bool | None] = {}
    if entry.get("kind") in ("auto_reply", "delivered"):
        return found  # the message got through: nobody failed
    for address, facts in entry.get("recipients", {}).items():
        if (facts.get("status") or "").startswith("2"):
            continue
        found[(facts.get("original") or address).lower()] = facts.get("hard")
    return found


def load_labelled(
    directory: Path, *, messages: str | None = None, samples: Path | None = None
) -> list[Expected]:
    """Corpus entries from ``expected.json`` in ``directory`` (this repo's
    shape: kind, recipients with status, hard and original). The files are
    in ``directory``, its ``messages`` folder, or ``samples`` (fetched ones)."""
    data = json.loads((directory / "expected.json").read_text(encoding="utf-8"))
    base = samples or (directory / messages if messages else directory)
    return [
        Expected(
            base / name,
            entry.get("kind"),
            _recipients(entry),
            entry.get("system") or name.split("_", 1)[0],
        )
        for name, entry in sorted(data.items())
        if (base / name).is_file()
    ]


def load_address_lists(expected: Path, samples: Path) -> list[Expected]:
    """Entries from a file -> [failed addresses] map (flufl.bounce's tests);
    such samples give no hard flag, and a kind only when an address fails."""
    data = json.loads(expected.read_text(encoding="utf-8"))
    return [
        Expected(
            samples / name,
            "bounce" if addresses else None,
            {a.lower(): None for a in addresses},
            name.rsplit("_", 1)[0],
        )
        for name, addresses in sorted(data.items())
        if (samples / name).is_file()
    ]
