"""A simulated ISP abuse mailbox with its ground truth, for the linking benchmark.

Standalone on purpose: it imports nothing from the desk (no Django, no
``accounts``, no ``complaints``), so the mail it writes follows how real systems
format mail, not how the desk's parser reads it. ``generate`` is deterministic
per seed: the same seed writes the same bytes.

Output (under ``out``): ``subscribers.csv`` (``import_subscribers`` format),
``Maildir/{cur,new,tmp}``, ``truth/reports.jsonl``, ``truth/mailings.jsonl``,
``truth/accounts.jsonl`` and ``isp.env``.
"""

import random
from datetime import UTC, datetime
from pathlib import Path

from simulator import output, plan

START = datetime(2026, 8, 24, tzinfo=UTC)
SCALES = tuple(plan.SCALES)


def generate(
    *,
    seed: int,
    out: Path | str,
    scale: str = "default",
    start: datetime = START,
) -> dict[str, int]:
    """Write the mailbox and its truth for ``seed``; returns a few counts.

    ``start`` is the first day of the four simulated weeks (the benchmark's
    fixed date by default; the demo of ``make run`` passes a recent one)."""
    if scale not in plan.SCALES:
        raise ValueError(f"unknown scale {scale!r}; one of {', '.join(SCALES)}")
    rng = random.Random(seed)  # noqa: S311  (reproducible test data, not secrets)
    built = plan.build(rng, scale, start)
    return output.write(built, Path(out), rng)
