"""Small, deterministic SVG charts for the review document (no plotting library needed).

Each function returns one self-contained ``<svg>`` element as ``Markup``: fixed ids given by the caller
(never derived from user text), coordinates printed with fixed precision, every label escaped. The same
input always gives the same bytes, so the document hash is stable. ``data_uri`` wraps a chart for
Markdown, where inline SVG is usually stripped.
"""

from __future__ import annotations

import base64
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

from model_governance.documents.escaping import one_line

BASELINE_COLOR = "#4e79a7"
COMPARATOR_COLOR = "#f28e2b"
GOOD_COLOR = "#59a14f"
BAD_COLOR = "#e15759"
INFO_COLOR = "#9c9c9c"
BAND_COLOR = "#dff0d8"
FONT = "DejaVu Sans, Helvetica, Arial, sans-serif"

_ID = re.compile(r"^[a-z][a-z0-9-]{0,63}$")


def _f(value: float) -> str:
    """A coordinate with one decimal; '-0.0' normalised so equal charts are equal bytes."""
    text = f"{value:.1f}"
    return "0.0" if text == "-0.0" else text


def _label(value: object, limit: int = 18) -> str:
    text = one_line(value)
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def _check_id(chart_id: str) -> str:
    if not _ID.match(chart_id):
        raise ValueError(f"chart id {chart_id!r} must be lower-case letters, digits and '-'")
    return chart_id


def _nice_step(value: float) -> float:
    """A round step at or above ``value``: 1, 2, 2.5 or 5 times a power of ten."""
    if value <= 0 or not math.isfinite(value):
        return 0.25
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if step * power >= value * (1 - 1e-9):
            return step * power
    return 10 * power


def _axis(max_value: float, ticks: int = 4) -> tuple[float, list[float]]:
    """A round axis maximum and its tick values (0 included) for data up to ``max_value``."""
    step = _nice_step(max_value / ticks if max_value > 0 else 0.25)
    count = max(1, math.ceil(max_value / step - 1e-9)) if max_value > 0 else ticks
    return step * count, [step * i for i in range(count + 1)]


def _percent(share: float) -> str:
    text = f"{share * 100:.1f}".rstrip("0").rstrip(".")
    return f"{text}%"


def _open(chart_id: str, width: int, height: int, title: str, description: str) -> list[str]:
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" id="{chart_id}" class="chart" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-labelledby="{chart_id}-title {chart_id}-desc" font-family="{FONT}" font-size="11">',
        f'<title id="{chart_id}-title">{escape(one_line(title))}</title>',
        f'<desc id="{chart_id}-desc">{escape(one_line(description))}</desc>',
        f'<rect x="0" y="0" width="{width}" height="{height}" fill="#ffffff"/>',
        f'<text x="{width / 2:.1f}" y="16" text-anchor="middle" font-size="13" font-weight="bold">'
        f"{escape(_label(title, 80))}</text>",
    ]


@dataclass(frozen=True)
class Distribution:
    """Shares per bin (each list sums to about 1) of one variable in the baseline and comparator data."""

    labels: Sequence[str]
    baseline: Sequence[float]
    comparator: Sequence[float]

    def __post_init__(self) -> None:
        if not (len(self.labels) == len(self.baseline) == len(self.comparator)) or not self.labels:
            raise ValueError(
                f"a distribution needs one baseline and one comparator share per bin label; got "
                f"{len(self.labels)} labels, {len(self.baseline)} baseline, {len(self.comparator)} comparator"
            )


def distribution_chart(chart_id: str, title: str, dist: Distribution, *, subtitle: str = "") -> Markup:
    """Grouped bars: the share of rows in each bin, baseline next to comparator."""
    chart_id = _check_id(chart_id)
    n = len(dist.labels)
    rotate = n > 6
    width = 660
    left, right, top = 48, 12, 46
    bottom = 86 if rotate else 44
    height = 250 + (bottom - 44)
    plot_w, plot_h = width - left - right, height - top - bottom
    values = [float(v) for v in (*dist.baseline, *dist.comparator) if math.isfinite(float(v))]
    y_max, ticks = _axis(max(values, default=0.0))
    slot = plot_w / n
    bar = max(min(slot * 0.38, 28.0), 1.0)
    label_chars = 16 if rotate else max(6, int(slot / 6.6))
    parts = _open(
        chart_id,
        width,
        height,
        title,
        f"Share of rows per bin, baseline vs comparator. {subtitle}".strip(),
    )
    if subtitle:
        parts.append(
            f'<text x="{width / 2:.1f}" y="31" text-anchor="middle" fill="#555555">'
            f"{escape(_label(subtitle, 110))}</text>"
        )
    # Horizontal grid with percentage ticks.
    for tick in ticks:
        y = top + plot_h - plot_h * tick / y_max
        parts.append(
            f'<line x1="{left}" y1="{_f(y)}" x2="{width - right}" y2="{_f(y)}" stroke="#e0e0e0" '
            'stroke-width="1"/>'
        )
        parts.append(
            f'<text x="{left - 4}" y="{_f(y + 4)}" text-anchor="end" fill="#555555">{_percent(tick)}</text>'
        )
    for index, label in enumerate(dist.labels):
        x0 = left + slot * index + slot / 2
        pairs = (
            (-bar, dist.baseline[index], BASELINE_COLOR),
            (0.0, dist.comparator[index], COMPARATOR_COLOR),
        )
        for offset, value, color in pairs:
            share = float(value) if math.isfinite(float(value)) else 0.0
            h = plot_h * min(max(share, 0.0), y_max) / y_max
            parts.append(
                f'<rect x="{_f(x0 + offset)}" y="{_f(top + plot_h - h)}" width="{_f(bar)}" height="{_f(h)}" '
                f'fill="{color}"/>'
            )
        y_label = top + plot_h + 14
        text = escape(_label(label, label_chars))
        if rotate:
            parts.append(
                f'<text x="{_f(x0 + 4)}" y="{_f(y_label)}" text-anchor="end" fill="#333333" '
                f'transform="rotate(-35 {_f(x0 + 4)} {_f(y_label)})">{text}</text>'
            )
        else:
            parts.append(
                f'<text x="{_f(x0)}" y="{_f(y_label)}" text-anchor="middle" fill="#333333">{text}</text>'
            )
    parts.append(
        f'<line x1="{left}" y1="{top + plot_h}" x2="{width - right}" y2="{top + plot_h}" stroke="#333333"/>'
    )
    parts.extend(_legend(width, height - 8))
    parts.append("</svg>")
    # Every piece above is a fixed string, a formatted number or an escaped label.
    return Markup("\n".join(parts))  # noqa: S704


def _legend(width: int, y: float) -> list[str]:
    x = width / 2 - 110
    return [
        f'<rect x="{_f(x)}" y="{_f(y - 9)}" width="10" height="10" fill="{BASELINE_COLOR}"/>',
        f'<text x="{_f(x + 14)}" y="{_f(y)}">baseline</text>',
        f'<rect x="{_f(x + 110)}" y="{_f(y - 9)}" width="10" height="10" fill="{COMPARATOR_COLOR}"/>',
        f'<text x="{_f(x + 124)}" y="{_f(y)}">comparator</text>',
    ]


@dataclass(frozen=True)
class DisparityBar:
    """One group's ratio against the reference group, and whether it passed its band."""

    label: str
    value: float | None
    passed: bool | None


def disparity_chart(
    chart_id: str, title: str, bars: Sequence[DisparityBar], *, band: tuple[float, float] = (0.8, 1.2)
) -> Markup:
    """Horizontal bars of each group's ratio, with the pass band shaded and 1.0 marked."""
    chart_id = _check_id(chart_id)
    low, high = band
    row_h = 22
    width = 660
    left, right, top, bottom = 170, 60, 40, 34
    height = top + bottom + row_h * max(len(bars), 1)
    plot_w = width - left - right
    finite = [b.value for b in bars if b.value is not None and math.isfinite(b.value)]
    x_max = max(1.5, high * 1.25, *(v * 1.1 for v in finite))
    x_max = math.ceil(x_max * 4) / 4

    def x_of(value: float) -> float:
        return left + plot_w * min(max(value, 0.0), x_max) / x_max

    parts = _open(
        chart_id,
        width,
        height,
        title,
        f"Ratio of each group's rate to the reference group's; passes inside [{low:g}, {high:g}].",
    )
    plot_bottom = top + row_h * max(len(bars), 1)
    parts.append(
        f'<rect x="{_f(x_of(low))}" y="{top - 6}" width="{_f(x_of(high) - x_of(low))}" '
        f'height="{plot_bottom - top + 6}" fill="{BAND_COLOR}"/>'
    )
    ticks = [i / 4 for i in range(int(x_max * 4) + 1)]
    for tick in ticks:
        if tick * 4 % 2:  # label every 0.5, keep the quarter grid lines
            continue
        parts.append(
            f'<line x1="{_f(x_of(tick))}" y1="{top - 6}" x2="{_f(x_of(tick))}" y2="{plot_bottom}" '
            'stroke="#e0e0e0"/>'
        )
        parts.append(
            f'<text x="{_f(x_of(tick))}" y="{plot_bottom + 14}" text-anchor="middle" fill="#555555">'
            f"{tick:g}</text>"
        )
    for index, item in enumerate(bars):
        y = top + row_h * index
        color = INFO_COLOR if item.passed is None else (GOOD_COLOR if item.passed else BAD_COLOR)
        parts.append(
            f'<text x="{left - 6}" y="{_f(y + 14)}" text-anchor="end" fill="#333333">'
            f"{escape(_label(item.label, 26))}</text>"
        )
        if item.value is None or not math.isfinite(item.value):
            parts.append(f'<text x="{left + 4}" y="{_f(y + 14)}" fill="#555555">n/a</text>')
            continue
        end = x_of(item.value)
        parts.append(
            f'<rect x="{left}" y="{_f(y + 4)}" width="{_f(end - left)}" height="{row_h - 8}" fill="{color}"/>'
        )
        parts.append(f'<text x="{_f(end + 4)}" y="{_f(y + 14)}" fill="#333333">{item.value:.3f}</text>')
    parts.append(
        f'<line x1="{_f(x_of(1.0))}" y1="{top - 6}" x2="{_f(x_of(1.0))}" y2="{plot_bottom}" '
        'stroke="#333333" stroke-dasharray="4 3"/>'
    )
    parts.append(
        f'<text x="{_f((x_of(low) + x_of(high)) / 2)}" y="{height - 6}" text-anchor="middle" fill="#3c763d">'
        f"pass band [{low:g}, {high:g}]</text>"
    )
    parts.append("</svg>")
    # Every piece above is a fixed string, a formatted number or an escaped label.
    return Markup("\n".join(parts))  # noqa: S704


def data_uri(svg: str) -> str:
    """The chart as a ``data:image/svg+xml;base64,...`` URI (for Markdown image syntax)."""
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")
