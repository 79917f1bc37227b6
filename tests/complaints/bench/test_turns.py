"""Parsers timed in turns: the order alternates, each turn starts purged and
collected, and the ratio is the median of the rounds' own ratios."""

import gc
import re

from complaints.bench import turns


def test_the_order_of_the_parsers_turns_each_round():
    calls: list[str] = []

    def parser(name):
        return lambda raw: calls.append(name)

    timed = turns.take_turns({"a": parser("a"), "b": parser("b")}, [b"x"], 4)
    # One untimed pass each, then a b, b a, a b, b a.
    assert calls == ["a", "b", "a", "b", "b", "a", "a", "b", "b", "a"]
    assert len(timed.cpu["a"]) == len(timed.wall["b"]) == 4


def test_each_turn_starts_with_the_pattern_cache_purged_and_garbage_collected():
    seen = []
    kept = []

    def parser(raw):
        seen.append((len(re._cache), gc.get_count()[0]))  # type: ignore[attr-defined]
        re.compile(raw.decode())  # left in the cache for the next turn
        # Objects the collector tracks, left for the next turn to find
        # pending (fewer than the 700 that start a collection by themselves).
        kept.extend([] for _ in range(300))

    turns.take_turns({"a": parser, "b": parser}, [b"x+"], 2)
    assert all(cached == 0 for cached, _ in seen)
    assert all(pending < 100 for _, pending in seen)


def test_the_ratio_is_the_median_of_each_rounds_ratio():
    timed = turns.Turns(
        ("ours", "peer"),
        wall={"ours": [1.0, 1.0, 1.0], "peer": [1.0, 1.0, 1.0]},
        cpu={"ours": [1.0, 2.0, 1.0], "peer": [3.0, 2.0, 1.2]},
    )
    assert timed.ratios("peer", "ours") == [3.0, 1.0, 1.2]
    assert timed.median_ratio("peer", "ours") == 1.2
    assert timed.total_cpu("ours") == 4.0
