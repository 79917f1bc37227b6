"""Bar-chart geometry. Pure: no database."""

from datetime import date

from complaints.charts import Slot, stacked_bars


def _slots(*counts):
    return [
        Slot(start=date(2026, 11, n + 1), label=str(n + 1), complaints=c, bounces=b)
        for n, (c, b) in enumerate(counts)
    ]


def test_the_tallest_bar_fills_the_height_and_carries_its_total():
    chart = stacked_bars(_slots((2, 2), (1, 0)), width=200, height=100)
    tall, short = chart["bars"]
    assert tall["bounces_h"] + tall["complaints_h"] == 100
    assert (tall["total"], short["total"]) == (4, 1)
    assert short["complaints_h"] == 25


def test_bars_sit_in_equal_slots_so_a_table_lines_up_beneath():
    chart = stacked_bars(_slots((1, 0), (0, 1), (0, 0), (3, 3)), width=400)
    middles = [bar["middle"] for bar in chart["bars"]]
    assert middles == [50, 150, 250, 350]


def test_an_empty_chart_draws_no_bars_of_height():
    chart = stacked_bars(_slots((0, 0), (0, 0)))
    assert all(bar["bounces_h"] == bar["complaints_h"] == 0 for bar in chart["bars"])
