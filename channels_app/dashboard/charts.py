"""Line charts as plain geometry, for the dashboard template to draw as inline SVG.

Server-rendered SVG needs no JavaScript and nothing from a CDN, so the dashboard works wherever
the admin does; the numbers stay readable as a table beside each chart and as a tooltip (``<title>``)
on every point.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from channels_app.services.statistics_timeline import KINDS, DeliverySeries

COLORS = {
    "accepted": "#7f7f7f",
    "sent": "#1f77b4",
    "delivered": "#2ca02c",
    "read": "#9467bd",
    "failed": "#d62728",
}
WIDTH, HEIGHT = 640, 200
PAD_LEFT, PAD_RIGHT, PAD_TOP, PAD_BOTTOM = 44, 12, 12, 28


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    kind: str
    color: str
    count: int
    label: str  # "12:34 delivered: 17"


@dataclass(frozen=True)
class Line:
    kind: str
    color: str
    points: str  # the SVG polyline's "x,y x,y ..." attribute
    total: int


@dataclass(frozen=True)
class Tick:
    position: float
    label: str


@dataclass
class Chart:
    width: int
    height: int
    plot_left: int
    plot_right: int
    plot_top: int
    plot_bottom: int
    lines: list[Line] = field(default_factory=list)
    points: list[Point] = field(default_factory=list)  # only non-zero counts get a marker
    y_ticks: list[Tick] = field(default_factory=list)
    x_ticks: list[Tick] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not self.points


def _time_label(moment: datetime, bucket: timedelta) -> str:
    """Times in UTC, like every timestamp the gateway shows."""
    return moment.strftime("%H:%M")


def line_chart(series: DeliverySeries, buckets: list[datetime], bucket: timedelta) -> Chart:
    """One line per kind (accepted, sent, delivered, read, failed) over the buckets."""
    chart = Chart(
        width=WIDTH,
        height=HEIGHT,
        plot_left=PAD_LEFT,
        plot_right=WIDTH - PAD_RIGHT,
        plot_top=PAD_TOP,
        plot_bottom=HEIGHT - PAD_BOTTOM,
    )
    peak = max((max(series.counts[kind], default=0) for kind in KINDS), default=0) or 1
    plot_width = chart.plot_right - chart.plot_left
    plot_height = chart.plot_bottom - chart.plot_top
    step = plot_width / max(len(buckets) - 1, 1)

    def x_of(index: int) -> float:
        return round(chart.plot_left + index * step, 1)

    def y_of(count: int) -> float:
        return round(chart.plot_bottom - count / peak * plot_height, 1)

    for kind in KINDS:
        counts = series.counts[kind]
        coordinates = " ".join(f"{x_of(i)},{y_of(n)}" for i, n in enumerate(counts))
        chart.lines.append(Line(kind=kind, color=COLORS[kind], points=coordinates, total=sum(counts)))
        chart.points.extend(
            Point(
                x=x_of(i),
                y=y_of(n),
                kind=kind,
                color=COLORS[kind],
                count=n,
                label=f"{_time_label(buckets[i], bucket)} {kind}: {n}",
            )
            for i, n in enumerate(counts)
            if n
        )
    for value in sorted({0, peak // 2, peak}):
        chart.y_ticks.append(Tick(position=y_of(value), label=str(value)))
    every = max(len(buckets) // 6, 1)
    chart.x_ticks = [
        Tick(position=x_of(i), label=_time_label(moment, bucket)) for i, moment in enumerate(buckets) if i % every == 0
    ]
    return chart
