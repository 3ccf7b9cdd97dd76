"""Inline SVG charts for the dashboard pages: counts, risk test outcomes per category, metric series.

Same rules as the review document's charts (``documents/charts.py``, whose pass/fail colours these share):
ids are given by the caller and checked, every label is escaped, numbers are formatted; the functions
return ``Markup`` that templates insert as is.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime

from markupsafe import Markup, escape

from model_governance.documents.charts import BAD_COLOR, FONT, GOOD_COLOR, INFO_COLOR, _check_id, _f

BAR_COLOR = "#4e79a7"
OUTCOME_COLORS = {
    "passed": GOOD_COLOR,
    "failed": BAD_COLOR,
    "error": "#b07aa1",
    "not_applicable": "#bab0ac",
    "info": INFO_COLOR,
}


def _svg(chart_id: str, width: int, height: int, title: str) -> list[str]:
    return [
        f'<svg id="{chart_id}" xmlns="http://www.w3.org/2000/svg" role="img" '
        f'width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="{FONT}" font-size="12" '
        f'aria-labelledby="{chart_id}-title">',
        f'<title id="{chart_id}-title">{escape(title)}</title>',
    ]


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def count_bars(
    chart_id: str, title: str, items: Sequence[tuple[str, int, str | None]], *, color: str = BAR_COLOR
) -> Markup:
    """Horizontal bars of ``(label, count, href or None)``; a bar with an href is a link (a filter)."""
    chart_id = _check_id(chart_id)
    row_h, left, right, top = 22, 190, 50, 6
    width = 460
    height = top * 2 + row_h * max(len(items), 1)
    peak = max([count for _, count, _ in items] or [1]) or 1
    parts = _svg(chart_id, width, height, title)
    if not items:
        parts.append(f'<text x="{left}" y="{top + 14}" fill="#555555">none</text>')
    for index, (label, count, href) in enumerate(items):
        y = top + row_h * index
        bar_w = (width - left - right) * count / peak
        row = [
            f'<text x="{left - 6}" y="{_f(y + 15)}" text-anchor="end" fill="#333333">'
            f"{escape(_short(label, 28))}</text>",
            f'<rect x="{left}" y="{_f(y + 4)}" width="{_f(max(bar_w, 1))}" height="{row_h - 8}" '
            f'fill="{color}"/>',
            f'<text x="{_f(left + bar_w + 4)}" y="{_f(y + 15)}" fill="#333333">{count}</text>',
        ]
        if href:
            parts.append(f'<a href="{escape(href)}" target="_self">{"".join(row)}</a>')
        else:
            parts.extend(row)
    parts.append("</svg>")
    # Fixed strings, formatted numbers and escaped labels only.
    return Markup("\n".join(parts))  # noqa: S704


def outcome_bars(chart_id: str, title: str, per_category: Sequence[tuple[str, dict[str, int]]]) -> Markup:
    """One stacked bar per risk test category: how many results passed, failed, errored, were info."""
    chart_id = _check_id(chart_id)
    row_h, left, right, top, legend_h = 24, 150, 20, 6, 26
    width = 560
    height = top + row_h * max(len(per_category), 1) + legend_h
    totals = [sum(counts.values()) for _, counts in per_category]
    peak = max(totals or [1]) or 1
    plot_w = width - left - right
    parts = _svg(chart_id, width, height, title)
    for index, (category, counts) in enumerate(per_category):
        y = top + row_h * index
        parts.append(
            f'<text x="{left - 6}" y="{_f(y + 16)}" text-anchor="end" fill="#333333">'
            f"{escape(_short(category, 22))}</text>"
        )
        x = float(left)
        for outcome, color in OUTCOME_COLORS.items():
            count = counts.get(outcome, 0)
            if not count:
                continue
            w = plot_w * count / peak
            parts.append(
                f'<rect x="{_f(x)}" y="{_f(y + 4)}" width="{_f(w)}" height="{row_h - 8}" fill="{color}">'
                f"<title>{escape(category)}: {count} {outcome}</title></rect>"
            )
            if w >= 16:
                parts.append(
                    f'<text x="{_f(x + w / 2)}" y="{_f(y + 16)}" text-anchor="middle" '
                    f'fill="#ffffff">{count}</text>'
                )
            x += w
    y = height - 8
    x = float(left)
    for outcome, color in OUTCOME_COLORS.items():
        parts.append(f'<rect x="{_f(x)}" y="{y - 9}" width="10" height="10" fill="{color}"/>')
        parts.append(f'<text x="{_f(x + 14)}" y="{y}" fill="#333333">{outcome.replace("_", " ")}</text>')
        x += 24 + 7 * len(outcome)
    parts.append("</svg>")
    return Markup("\n".join(parts))  # noqa: S704


def metric_series(
    chart_id: str,
    title: str,
    points: Sequence[tuple[datetime, float, float | None, bool | None]],
) -> Markup:
    """A metric over time: a line through the values, each point coloured by pass/fail, the latest
    threshold as a dashed line."""
    chart_id = _check_id(chart_id)
    width, height = 460, 150
    left, right, top, bottom = 48, 16, 12, 26
    plot_w, plot_h = width - left - right, height - top - bottom
    parts = _svg(chart_id, width, height, title)
    finite = [(t, v, th, ok) for t, v, th, ok in points if math.isfinite(v)]
    if not finite:
        parts.append(f'<text x="{left}" y="{top + 20}" fill="#555555">no values</text></svg>')
        return Markup("\n".join(parts))  # noqa: S704
    threshold = finite[-1][2]
    values = [v for _, v, _, _ in finite] + ([threshold] if threshold is not None else [])
    low, high = min(values), max(values)
    if math.isclose(low, high):
        low, high = low - 1 if low == 0 else low * 0.9, high + 1 if high == 0 else high * 1.1
    low, high = min(low, high), max(low, high)
    pad = (high - low) * 0.08
    low, high = low - pad, high + pad
    start, end = finite[0][0].timestamp(), finite[-1][0].timestamp()
    span = end - start or 1.0

    def x_of(moment: datetime) -> float:
        return left + plot_w * ((moment.timestamp() - start) / span if len(finite) > 1 else 0.5)

    def y_of(value: float) -> float:
        return top + plot_h * (1 - (value - low) / (high - low))

    parts.append(
        f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" fill="#fafafa" stroke="#e0e0e0"/>'
    )
    for value in (low + pad, high - pad):
        parts.append(
            f'<text x="{left - 4}" y="{_f(y_of(value) + 4)}" text-anchor="end" '
            f'fill="#555555">{value:.3g}</text>'
        )
    if threshold is not None:
        parts.append(
            f'<line x1="{left}" y1="{_f(y_of(threshold))}" x2="{left + plot_w}" y2="{_f(y_of(threshold))}" '
            f'stroke="{BAD_COLOR}" stroke-dasharray="5 4"><title>threshold {threshold:g}</title></line>'
        )
    path = " ".join(f"{_f(x_of(t))},{_f(y_of(v))}" for t, v, _, _ in finite)
    parts.append(f'<polyline points="{path}" fill="none" stroke="{BAR_COLOR}" stroke-width="1.5"/>')
    for moment, value, _, ok in finite:
        color = INFO_COLOR if ok is None else (GOOD_COLOR if ok else BAD_COLOR)
        parts.append(
            f'<circle cx="{_f(x_of(moment))}" cy="{_f(y_of(value))}" r="3.5" fill="{color}">'
            f"<title>{escape(moment.isoformat(timespec='minutes'))}: {value:.4g}</title></circle>"
        )
    parts.append(
        f'<text x="{left}" y="{height - 8}" fill="#555555">'
        f"{escape(finite[0][0].strftime('%Y-%m-%d %H:%M'))}</text>"
    )
    parts.append(
        f'<text x="{left + plot_w}" y="{height - 8}" text-anchor="end" fill="#555555">'
        f"{escape(finite[-1][0].strftime('%Y-%m-%d %H:%M'))}</text>"
    )
    parts.append("</svg>")
    return Markup("\n".join(parts))  # noqa: S704
