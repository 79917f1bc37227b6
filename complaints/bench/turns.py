"""Time several parsers over one corpus in alternate turns (``bench_parse``).

On a machine shared with other work the load moves from one second to the
next: parsers timed one after the other meet different loads, and the ratio
of their times then says more about the machine than about them. Here each
round times every parser once over the whole corpus, the order of the
parsers turning from round to round (A B, then B A, ...), and the figure that counts is each round's ratio, of which the median is reported:
within a round both met nearly the same load.

Every parser starts its turn in the same state: the ``re`` module's cache
purged (see ``bench_parse``'s docstring) and the cyclic garbage collector
run, so neither pays for a collection of the other's garbage. Both happen
outside the timed region.
"""

from __future__ import annotations

import gc
import re
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field


@dataclass
class Turns:
    """Wall and CPU seconds of each parser's turn, round by round."""

    names: tuple[str, ...]
    wall: dict[str, list[float]] = field(default_factory=dict)
    cpu: dict[str, list[float]] = field(default_factory=dict)

    def total_wall(self, name: str) -> float:
        return sum(self.wall[name])

    def total_cpu(self, name: str) -> float:
        return sum(self.cpu[name])

    def ratios(self, slower: str, faster: str) -> list[float]:
        """Each round's CPU time of ``slower`` over that of ``faster``: how
        many times faster ``faster`` was in that round."""
        return [
            s / f if f else float("inf")
            for s, f in zip(self.cpu[slower], self.cpu[faster], strict=True)
        ]

    def median_ratio(self, slower: str, faster: str) -> float:
        return statistics.median(self.ratios(slower, faster))


def _turn(
    func: Callable[[bytes], object], corpus: Sequence[bytes]
) -> tuple[float, float]:
    re.purge()
    gc.collect()
    start_wall, start_cpu = time.perf_counter(), time.process_time()
    for raw in corpus:
        func(raw)
    return time.perf_counter() - start_wall, time.process_time() - start_cpu


def take_turns(
    parsers: dict[str, Callable[[bytes], object]],
    corpus: Sequence[bytes],
    rounds: int,
) -> Turns:
    """Time every parser over ``corpus`` once a round for ``rounds`` rounds,
    after one untimed pass each (both measured warm), the order turning each
    round."""
    names = tuple(parsers)
    for name in names:
        _turn(parsers[name], corpus)
    turns = Turns(names, {n: [] for n in names}, {n: [] for n in names})
    for index in range(rounds):
        order = names if index % 2 == 0 else names[::-1]
        for name in order:
            wall, cpu = _turn(parsers[name], corpus)
            turns.wall[name].append(wall)
            turns.cpu[name].append(cpu)
    return turns
