"""Charts drawn on the server as SVG: no chart script to load, nothing for the CSP to allow, and the
page shows its figures before any script runs. One line per series over the same minutes."""

from __future__ import annotations

from dataclasses import dataclass

WIDTH, HEIGHT = 720, 180
_LEFT, _BOTTOM, _TOP = 40, 20, 10  # room for the axis labels


@dataclass(frozen=True)
class Line:
    name: str
    points: str  # SVG polyline points
    total: int


@dataclass(frozen=True)
class Chart:
    lines: list[Line]
    top: int  # the count at the chart's top line
    width: int = WIDTH
    height: int = HEIGHT
    left: int = _LEFT
    bottom_y: int = HEIGHT - _BOTTOM
    top_y: int = _TOP


def _nice_top(peak: int) -> int:
    """The smallest of 1, 2, 5, 10, 20, 50 ... at or above ``peak``."""
    scale = 1
    while True:
        for top in (scale, 2 * scale, 5 * scale):
            if top >= peak:
                return top
        scale *= 10


def line_chart(series: dict[str, list[int]]) -> Chart:
    values = [v for counts in series.values() for v in counts]
    top = _nice_top(max(values, default=0))
    count = max((len(v) for v in series.values()), default=1)
    step = (WIDTH - _LEFT) / max(1, count - 1)
    span = HEIGHT - _BOTTOM - _TOP

    def point(i: int, value: int) -> str:
        return f"{_LEFT + i * step:.1f},{HEIGHT - _BOTTOM - span * value / top:.1f}"

    return Chart([Line(name, " ".join(point(i, v) for i, v in enumerate(counts)), sum(counts))
                  for name, counts in series.items()], top)
