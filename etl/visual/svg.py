"""SVG charts as strings: vertical bars, horizontal bars and lines, one or more series, with axes.

Every text that reaches the markup goes through ``esc`` (labels, series names, hover titles), so a label
such as ``</script><script>alert(1)</script>`` stays text. Charts scale to their container (``viewBox``);
each mark carries a ``<title>`` with its exact value, shown on hover.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

PALETTE = ("#2d6cdf", "#f08c2e", "#2fa37c", "#c2497a", "#7a5fc9", "#8a8f98")
WIDTH = 560
HEIGHT = 240
TOP, RIGHT, BOTTOM, LEFT = 24, 16, 40, 56


def esc(value: object) -> str:
    """Text for HTML or SVG markup, attributes included: ``& < > " '`` become entities."""
    return escape("" if value is None else str(value), quote=True)


@dataclass(frozen=True, slots=True)
class Series:
    name: str
    values: tuple[float, ...]
    unit: str = ""


def number(value: float, unit: str = "") -> str:
    """A value for people: 1,234 or 12.5, then the unit."""
    text = f"{value:,.0f}" if float(value).is_integer() or abs(value) >= 100 else f"{value:,.1f}"
    return f"{text} {unit}".strip()


def _compact(value: float) -> str:
    for size, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= size:
            return f"{value / size:g}{suffix}"
    return f"{value:g}"


def ticks(top: float, count: int = 4) -> list[float]:
    """Round tick values from 0 to at least ``top``: steps of 1, 2 or 5 times a power of ten."""
    if top <= 0:
        return [0.0, 1.0]
    raw = top / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    return [i * step for i in range(math.ceil(top / step - 1e-9) + 1)]


def _svg(body: list[str], label: str, width: int = WIDTH, height: int = HEIGHT) -> str:
    return (
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="{esc(label)}"'
        ">" + "".join(body) + "</svg>"
    )


def _empty(label: str) -> str:
    text = f'<text class="empty" x="{WIDTH / 2}" y="{HEIGHT / 2}" text-anchor="middle">No data</text>'
    return _svg([text], label)


def _legend(series: Sequence[Series], y: float) -> list[str]:
    if len(series) < 2:
        return []
    out, x = [], LEFT
    for i, s in enumerate(series):
        colour = PALETTE[i % len(PALETTE)]
        out.append(f'<rect x="{x}" y="{y - 9}" width="10" height="10" fill="{colour}"/>')
        out.append(f'<text class="legend" x="{x + 14}" y="{y}">{esc(s.name)}</text>')
        x += 24 + 7 * len(s.name)
    return out


def _y_axis(scale: list[float], plot_h: float, unit: str) -> list[str]:
    out = []
    for value in scale:
        y = TOP + plot_h - plot_h * value / scale[-1]
        out.append(f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>')
        out.append(
            f'<text class="tick" x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{_compact(value)}</text>'
        )
    if unit:
        out.append(f'<text class="unit" x="4" y="{TOP - 4}">{esc(unit)}</text>')
    return out


def _x_labels(labels: Sequence[str], centre: list[float], y: float) -> list[str]:
    every = max(1, math.ceil(len(labels) / 8))
    return [
        f'<text class="tick" x="{x:.1f}" y="{y}" text-anchor="middle">{esc(label)}</text>'
        for i, (label, x) in enumerate(zip(labels, centre, strict=True))
        if i % every == 0
    ]


def bars(labels: Sequence[str], series: Sequence[Series], *, title: str) -> str:
    """Vertical bars, one group per label and one bar per series (a time axis: ``labels`` are days)."""
    if not labels or not series:
        return _empty(title)
    legend_h = 16 if len(series) > 1 else 0
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM - legend_h
    scale = ticks(max(max(s.values, default=0) for s in series))
    slot = plot_w / len(labels)
    bar_w = max(1.0, slot * 0.8 / len(series))
    body = _y_axis(scale, plot_h, series[0].unit if len(series) == 1 else "")
    centre = []
    for i, label in enumerate(labels):
        left = LEFT + i * slot + slot * 0.1
        centre.append(LEFT + (i + 0.5) * slot)
        for j, s in enumerate(series):
            value = s.values[i] or 0
            h = plot_h * value / scale[-1]
            body.append(
                f'<rect class="mark" x="{left + j * bar_w:.1f}" y="{TOP + plot_h - h:.1f}"'
                f' width="{bar_w:.1f}" height="{h:.1f}" fill="{PALETTE[j % len(PALETTE)]}">'
                f"<title>{esc(label)}: {esc(s.name)} {esc(number(value, s.unit))}</title></rect>"
            )
    body.extend(_x_labels(labels, centre, TOP + plot_h + 16))
    body.extend(_legend(series, HEIGHT - 4))
    return _svg(body, title)


def line(labels: Sequence[str], series: Sequence[Series], *, title: str) -> str:
    """Lines with a dot per point, one per series, over ``labels`` (days)."""
    if not labels or not series:
        return _empty(title)
    legend_h = 16 if len(series) > 1 else 0
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM - legend_h
    scale = ticks(max(max(s.values, default=0) for s in series))
    step = plot_w / max(1, len(labels) - 1)
    xs = [LEFT + i * step if len(labels) > 1 else LEFT + plot_w / 2 for i in range(len(labels))]
    body = _y_axis(scale, plot_h, series[0].unit if len(series) == 1 else "")
    for j, s in enumerate(series):
        colour = PALETTE[j % len(PALETTE)]
        points = [
            (x, TOP + plot_h - plot_h * (v or 0) / scale[-1]) for x, v in zip(xs, s.values, strict=True)
        ]
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
        body.append(
            f'<polyline class="mark" fill="none" stroke="{colour}" stroke-width="2" points="{path}"/>'
        )
        for (x, y), label, v in zip(points, labels, s.values, strict=True):
            body.append(
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{colour}">'
                f"<title>{esc(label)}: {esc(s.name)} {esc(number(v or 0, s.unit))}</title></circle>"
            )
    body.extend(_x_labels(labels, xs, TOP + plot_h + 16))
    body.extend(_legend(series, HEIGHT - 4))
    return _svg(body, title)


def hbars(labels: Sequence[str], series: Sequence[Series], *, title: str, label_width: int = 180) -> str:
    """Horizontal bars, one row per label (names: hosts, webinars), one bar per series in each row."""
    if not labels or not series:
        return _empty(title)
    row_h = 8 + 12 * len(series)
    legend_h = 20 if len(series) > 1 else 0
    height = TOP + len(labels) * row_h + 24 + legend_h
    left = label_width + 8
    plot_w = WIDTH - left - RIGHT - 48
    top_value = max(max(s.values, default=0) for s in series)
    scale = ticks(top_value)
    body = []
    for value in scale:
        x = left + plot_w * value / scale[-1]
        body.append(
            f'<line class="grid" x1="{x:.1f}" x2="{x:.1f}" y1="{TOP}" y2="{height - 20 - legend_h}"/>'
        )
        body.append(
            f'<text class="tick" x="{x:.1f}" y="{height - 6 - legend_h}" text-anchor="middle">'
            f"{_compact(value)}</text>"
        )
    max_chars = label_width // 7
    for i, label in enumerate(labels):
        y = TOP + i * row_h
        short = label if len(label) <= max_chars else label[: max_chars - 1] + "…"
        body.append(
            f'<text class="label" x="{label_width}" y="{y + row_h / 2 + 4:.1f}" text-anchor="end">'
            f"{esc(short)}<title>{esc(label)}</title></text>"
        )
        for j, s in enumerate(series):
            value = s.values[i] or 0
            w = plot_w * value / scale[-1]
            bar_y = y + 4 + j * 12
            body.append(
                f'<rect class="mark" x="{left}" y="{bar_y}" width="{w:.1f}" height="10"'
                f' fill="{PALETTE[j % len(PALETTE)]}"><title>{esc(label)}: {esc(s.name)}'
                f" {esc(number(value, s.unit))}</title></rect>"
            )
            body.append(
                f'<text class="value" x="{left + w + 4:.1f}" y="{bar_y + 9}">{esc(number(value))}</text>'
            )
    body.extend(_legend(series, height - 4))
    return _svg(body, title, WIDTH, int(height))
