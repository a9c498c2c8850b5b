"""The geometry of the sign-in chart, drawn as inline SVG by the page's template.

Whole pixels only: templates print integers the same in every language, where a float
would be written with the reader's decimal comma and break the SVG. Colours are SVG
presentation attributes (``fill=``), since the Content-Security-Policy allows no inline
style.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from threshold.activity.selectors import SignInDay

SLOT = 20  # pixels per day
BAR = 12
PLOT_HEIGHT = 140
LEFT = 36  # room for the scale's numbers
TOP = 10
BOTTOM = 26  # room for the dates
SUCCEEDED_FILL = "#1d6b3a"  # --color-success
FAILED_FILL = "#b42318"  # --color-danger
GRID_STROKE = "#d6dae0"  # --color-border
TEXT_FILL = "#545d68"  # --color-muted


@dataclass(frozen=True)
class Bar:
    day: date
    succeeded: int
    failed: int
    x: int
    succeeded_y: int
    succeeded_height: int
    failed_y: int
    failed_height: int
    label: bool  # whether the date is written under this bar
    last: bool

    @property
    def label_x(self) -> int:
        # The last date ends at its bar's right edge rather than spilling past the chart.
        return self.x + BAR if self.last else self.x + BAR // 2

    @property
    def label_anchor(self) -> str:
        return "end" if self.last else "middle"


@dataclass(frozen=True)
class GridLine:
    y: int
    value: int


@dataclass(frozen=True)
class SignInChart:
    bars: list[Bar]
    grid: list[GridLine]
    width: int
    height: int
    baseline: int
    left: int
    right: int
    succeeded: int
    failed: int
    succeeded_fill: str = SUCCEEDED_FILL
    failed_fill: str = FAILED_FILL
    grid_stroke: str = GRID_STROKE
    text_fill: str = TEXT_FILL

    @property
    def first_day(self) -> date:
        return self.bars[0].day

    @property
    def last_day(self) -> date:
        return self.bars[-1].day

    @property
    def empty(self) -> bool:
        return self.succeeded + self.failed == 0


def _scale_top(largest: int) -> int:
    """A round number at or above ``largest``, so the scale reads 0, half, top."""
    if largest <= 4:
        return 4
    magnitude = 10
    while True:
        for step in (1, 2, 5):
            if step * magnitude >= largest:
                return step * magnitude
        magnitude *= 10


def build(days: Sequence[SignInDay]) -> SignInChart:
    """Stacked bars per day (succeeded below, failed above) and a three-line scale."""
    top = _scale_top(max((d.succeeded + d.failed for d in days), default=0))
    baseline = TOP + PLOT_HEIGHT

    def height(value: int) -> int:
        return round(value * PLOT_HEIGHT / top)

    bars = []
    last = len(days) - 1
    for index, day in enumerate(days):
        x = LEFT + index * SLOT + (SLOT - BAR) // 2
        succeeded_height = height(day.succeeded)
        failed_height = height(day.succeeded + day.failed) - succeeded_height
        bars.append(
            Bar(
                day=day.day,
                succeeded=day.succeeded,
                failed=day.failed,
                x=x,
                succeeded_y=baseline - succeeded_height,
                succeeded_height=succeeded_height,
                failed_y=baseline - succeeded_height - failed_height,
                failed_height=failed_height,
                label=index == last or (index % 7 == 0 and last - index >= 4),
                last=index == last,
            )
        )
    grid = [GridLine(baseline - height(value), value) for value in (0, top // 2, top)]
    width = LEFT + SLOT * len(days) + 4
    return SignInChart(
        bars=bars,
        grid=grid,
        width=width,
        height=baseline + BOTTOM,
        baseline=baseline,
        left=LEFT - 4,
        right=width - 2,
        succeeded=sum(d.succeeded for d in days),
        failed=sum(d.failed for d in days),
    )
