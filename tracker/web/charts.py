"""Server-side SVG charts: data in, an inline ``<svg>`` string out (no JavaScript, no CDN).

    stacked_bars(categories, series)   one column per category (e.g. a day), the series stacked
    hbars(rows)                        one horizontal bar per labelled value (carriers, routes, rates)

Pure functions.  Every label is passed through ``markupsafe.escape`` (carrier names, shop
names and provinces come from imported files) and numbers are formatted, so the result
is safe to mark as ``Markup``.  Each bar carries a ``<title>`` (the browser's tooltip and
what a screen reader says); the pages still put the numbers in a table next to the chart.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

# Distinguishable on white and for the common colour-vision deficiencies (Okabe–Ito first).
PALETTE = ("#0072b2", "#e69f00", "#009e73", "#d55e00", "#cc79a7", "#56b4e9", "#f0e442", "#000000",
           "#999999", "#882255", "#44aa99", "#117733")
FONT = 11  # px; the stylesheet's ``svg.chart text`` size (a CJK character is about this wide)
DIGIT = 7  # px; the width of a digit at that size


@dataclass(frozen=True)
class Series:
    label: str
    values: Sequence[float]


def nice_ceiling(value: float) -> float:
    """The smallest 1, 2 or 5 × 10^k at or above ``value`` (1 for nothing): round axis tops."""
    if value <= 0:
        return 1
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if step * power >= value:
            return step * power
    raise AssertionError("unreachable")


def _num(value: float) -> str:
    """Coordinates: short, and never exponent notation."""
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _plain(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


def _svg(width: float, height: float, title: str, body: list[str]) -> Markup:
    return Markup(
        f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" role="img" viewBox="0 0 {_num(width)} {_num(height)}"'
        f' width="100%" style="max-width:{_num(width)}px" aria-label="{escape(title)}">'
        f"<title>{escape(title)}</title>{''.join(body)}</svg>")


def _legend(labels: Sequence[str], left: int, width: int) -> tuple[list[str], int]:
    """Swatches and labels in rows that fit ``width``; returns them and the height they take."""
    out, x, y = [], left, 14
    for i, label in enumerate(labels):
        size = 24 + FONT * len(label)
        if x + size > width and x > left:
            x, y = left, y + 16
        out.append(f'<rect class="swatch" x="{_num(x)}" y="{_num(y - 9)}" width="10" height="10"'
                   f' fill="{PALETTE[i % len(PALETTE)]}"/><text x="{_num(x + 14)}" y="{_num(y)}">{escape(label)}</text>')
        x += size
    return out, y + 10


def stacked_bars(categories: Sequence[str], series: Sequence[Series], *, title: str, width: int = 760,
                 height: int = 260) -> Markup:
    """Columns per category with the series stacked bottom-up in order, a y axis from 0 to
    a round top, a legend above (``height`` includes it); an empty chart shows "—"."""
    totals = [sum(s.values[i] for s in series) for i in range(len(categories))]
    ymax = nice_ceiling(max(totals, default=0))
    left, right, bottom = max(40, DIGIT * len(_plain(ymax)) + 8), 8, 24  # room for the longest y label
    body, top = _legend([s.label for s in series], left, width)
    plot_w, plot_h = width - left - right, height - top - bottom
    steps = 4 if round(ymax / 10 ** math.floor(math.log10(ymax))) == 2 else 5  # ticks 0 5 10 15 20, 0 1 2 3 4 5
    for tick in range(steps + 1):
        value = ymax * tick / steps
        y = top + plot_h - plot_h * tick / steps
        body.append(f'<line class="grid" x1="{left}" x2="{left + plot_w}" y1="{_num(y)}" y2="{_num(y)}" stroke="#d1d9e0"/>'
                    f'<text x="{left - 4}" y="{_num(y + 4)}" text-anchor="end">{_plain(value)}</text>')
    slot = plot_w / max(len(categories), 1)
    bar_w = max(slot * 0.7, 1)
    every = math.ceil(len(categories) / (plot_w / (FONT * 4))) if categories else 1  # x labels that fit
    for i, category in enumerate(categories):
        x = left + slot * i + (slot - bar_w) / 2
        y = top + plot_h
        for n, s in enumerate(series):
            value = s.values[i]
            if not value:
                continue
            h = plot_h * value / ymax
            y -= h
            body.append(f'<rect class="bar" x="{_num(x)}" y="{_num(y)}" width="{_num(bar_w)}" height="{_num(h)}"'
                        f' fill="{PALETTE[n % len(PALETTE)]}"><title>{escape(category)} · {escape(s.label)}:'
                        f" {_plain(value)}</title></rect>")
        if i % every == 0:
            body.append(f'<text x="{_num(x + bar_w / 2)}" y="{top + plot_h + 14}" text-anchor="middle">'
                        f"{escape(category)}</text>")
    if not any(totals):
        body.append(f'<text x="{_num(left + plot_w / 2)}" y="{_num(top + plot_h / 2)}" text-anchor="middle">—</text>')
    return _svg(width, height, title, body)


def hbars(rows: Sequence[tuple[str, float | None]], *, title: str, width: int = 560, max_value: float | None = None,
          fmt: Callable[[float], str] = _plain) -> Markup:
    """One bar per (label, value), in the given order, scaled to ``max_value`` (default: a
    round top over the largest value); the formatted value is written after the bar and a
    missing value (None) draws no bar and shows "—"."""
    label_w = FONT * max((len(label) for label, _v in rows), default=0) + 8
    label_w = min(max(label_w, 60), width // 3)
    value_w, row_h = 64, 20
    plot_w = width - label_w - value_w
    top = max_value or nice_ceiling(max((v for _l, v in rows if v is not None), default=0))
    body = [] if rows else [f'<text x="{_num(width / 2)}" y="{row_h - 6}" text-anchor="middle">—</text>']
    for i, (label, value) in enumerate(rows):
        y = 4 + row_h * i
        body.append(f'<text x="{label_w - 6}" y="{y + 13}" text-anchor="end">{escape(label)}</text>')
        if value is None:
            body.append(f'<text x="{label_w + 4}" y="{y + 13}">—</text>')
            continue
        w = plot_w * min(value, top) / top
        body.append(f'<rect class="bar" x="{label_w}" y="{y + 3}" width="{_num(w)}" height="{row_h - 6}"'
                    f' fill="{PALETTE[0]}"><title>{escape(label)}: {escape(fmt(value))}</title></rect>'
                    f'<text x="{_num(label_w + w + 4)}" y="{y + 13}">{escape(fmt(value))}</text>')
    return _svg(width, max(row_h * len(rows), row_h) + 8, title, body)
