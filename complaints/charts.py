"""Geometry for the desk's small bar charts, drawn as inline SVG by templates.

Pure: counts in, coordinates out. Complaints are stacked on bounces, each bar
carries its total as a label and its day (or hour) below, and the bars sit in
equal slots so that a table of the same figures with one column per slot lines
up beneath them.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

AXIS_HEIGHT = 18
LABEL_HEIGHT = 14
# A bar no wider than this, centred in its slot: one bar alone stays a bar.
MAX_BAR_WIDTH = 48


@dataclass(frozen=True)
class Slot:
    """One bar: when (a day or an hour), and the two counts stacked in it."""

    start: date
    label: str
    complaints: int
    bounces: int


def stacked_bars(
    slots: Sequence[Slot], *, width: int = 1200, height: int = 160
) -> dict:
    """Coordinates for a stacked bar per slot, inside a ``width`` × ``height``
    viewBox plus room for the value labels above and the axis below."""
    tallest = max([1] + [slot.complaints + slot.bounces for slot in slots])
    slot_width = width / max(1, len(slots))
    top = LABEL_HEIGHT
    bar_width = min(slot_width * 0.8, MAX_BAR_WIDTH)
    bars = []
    for n, slot in enumerate(slots):
        total = slot.complaints + slot.bounces
        bounces_h = round(slot.bounces / tallest * height, 1)
        complaints_h = round(slot.complaints / tallest * height, 1)
        x = round(n * slot_width + (slot_width - bar_width) / 2, 1)
        bars.append(
            {
                "start": slot.start,
                "label": slot.label,
                "complaints": slot.complaints,
                "bounces": slot.bounces,
                "total": total,
                "x": x,
                "middle": round(n * slot_width + slot_width / 2, 1),
                "bounces_y": round(top + height - bounces_h, 1),
                "bounces_h": bounces_h,
                "complaints_y": round(top + height - bounces_h - complaints_h, 1),
                "complaints_h": complaints_h,
                "total_y": round(top + height - bounces_h - complaints_h - 3, 1),
            }
        )
    return {
        "bars": bars,
        "width": width,
        "height": top + height + AXIS_HEIGHT,
        "baseline": top + height,
        "axis_y": top + height + AXIS_HEIGHT - 4,
        "bar_width": round(bar_width, 1),
    }
