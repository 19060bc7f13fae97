"""SVG charts for the reports page, drawn on the server: no script, no colour needed to read them.

Every bar carries its value as text, series differ by fill pattern (solid, hatched) as well as shade and
are named in a legend, and each chart has a title and a description for screen readers (the page also
shows the figures as a table). Pure functions: data in, markup out.
"""

from __future__ import annotations

from dataclasses import dataclass

from markupsafe import Markup, escape

WIDTH = 900
LABEL_W = 240
VALUE_W = 260
BAR_H = 18
GAP = 8
PATTERNS = ("solid", "hatch", "dots")

_DEFS = (  # fill patterns, so series differ by more than shade
    '<defs>'
    '<pattern id="{id}-hatch" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">'
    '<rect width="6" height="6" class="bar-bg"/><line x1="0" y1="0" x2="0" y2="6" class="bar-line"/></pattern>'
    '<pattern id="{id}-dots" width="6" height="6" patternUnits="userSpaceOnUse">'
    '<rect width="6" height="6" class="bar-bg"/><circle cx="3" cy="3" r="1.4" class="bar-dot"/></pattern>'
    '</defs>'
)


@dataclass(frozen=True)
class Bar:
    value: float | None
    text: str  # what the bar says, e.g. "42 (60 %)"
    series: int = 0  # which pattern


@dataclass(frozen=True)
class Row:
    label: str
    bars: tuple[Bar, ...]


def _fill(chart_id: str, series: int) -> str:
    kind = PATTERNS[series % len(PATTERNS)]
    # (a pattern is a fill attribute, so the stylesheet must not set `fill` on patterned bars)
    return 'class="bar solid"' if kind == "solid" else f'class="bar patterned" fill="url(#{chart_id}-{kind})"'


def _frame(chart_id: str, title: str, desc: str, height: int, body: str) -> Markup:
    return Markup(
        f'<svg class="chart" id="{escape(chart_id)}" role="img" aria-labelledby="{chart_id}-t {chart_id}-d" '
        f'viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}" preserveAspectRatio="xMinYMin meet" '
        f'xmlns="http://www.w3.org/2000/svg">'
        f'<title id="{chart_id}-t">{escape(title)}</title><desc id="{chart_id}-d">{escape(desc)}</desc>'
        + _DEFS.replace("{id}", chart_id) + body + "</svg>"
    )


def _legend(chart_id: str, series: list[str], y: int) -> tuple[str, int]:
    if len(series) < 2:
        return "", y
    parts, x = [], LABEL_W
    for i, name in enumerate(series):
        parts.append(f'<rect x="{x}" y="{y}" width="14" height="14" {_fill(chart_id, i)}/>'
                     f'<text x="{x + 20}" y="{y + 12}" class="legend">{escape(name)}</text>')
        x += 40 + 8 * len(name)
    return "".join(parts), y + 14 + GAP * 2


def bar_chart(chart_id: str, title: str, desc: str, rows: list[Row], series: list[str] | None = None,
              max_value: float | None = None) -> Markup:
    """Horizontal bars, one group per row (several bars per row when there are several series)."""
    series = series or [""]
    legend, y = _legend(chart_id, series, 4)
    values = [b.value for r in rows for b in r.bars if b.value is not None]
    top = max_value if max_value is not None else max(values, default=0)
    span = WIDTH - LABEL_W - VALUE_W
    body = [legend]
    if not rows:
        body.append(f'<text x="0" y="{y + 14}" class="empty">No data in this period.</text>')
        return _frame(chart_id, title, desc, y + 24, "".join(body))
    for row in rows:
        group_h = len(row.bars) * (BAR_H + 2)
        body.append(f'<text x="{LABEL_W - 8}" y="{y + group_h / 2 + 5:.0f}" text-anchor="end" class="label">'
                    f'{escape(row.label)}</text>')
        for bar in row.bars:
            length = 0 if not bar.value or top <= 0 else max(1.0, span * min(bar.value, top) / top)
            body.append(f'<rect x="{LABEL_W}" y="{y}" width="{length:.1f}" height="{BAR_H}" '
                        f'{_fill(chart_id, bar.series)}/>'
                        f'<text x="{LABEL_W + length + 6:.1f}" y="{y + BAR_H - 4}" class="value">'
                        f'{escape(bar.text)}</text>')
            y += BAR_H + 2
        y += GAP
    return _frame(chart_id, title, desc, y + 4, "".join(body))


def diverging_chart(chart_id: str, title: str, desc: str, rows: list[Row], limit: float = 3.0) -> Markup:
    """Bars left or right of a zero line (e.g. z-scores: harsher raters left, more lenient right)."""
    centre = LABEL_W + (WIDTH - LABEL_W - VALUE_W) / 2
    half = (WIDTH - LABEL_W - VALUE_W) / 2
    y = 24
    body = [f'<text x="{centre - half:.0f}" y="14" class="axis">harsher</text>'
            f'<text x="{centre + half:.0f}" y="14" text-anchor="end" class="axis">more lenient</text>']
    if not rows:
        body.append(f'<text x="0" y="{y + 14}" class="empty">No data in this period.</text>')
        return _frame(chart_id, title, desc, y + 24, "".join(body))
    for row in rows:
        bar = row.bars[0]
        value = max(-limit, min(limit, bar.value or 0.0))
        length = abs(value) / limit * half
        x = centre if value >= 0 else centre - length
        body.append(f'<text x="{LABEL_W - 8}" y="{y + BAR_H - 4}" text-anchor="end" class="label">'
                    f'{escape(row.label)}</text>'
                    f'<rect x="{x:.1f}" y="{y}" width="{length:.1f}" height="{BAR_H}" {_fill(chart_id, bar.series)}/>'
                    f'<text x="{WIDTH - VALUE_W + 8}" y="{y + BAR_H - 4}" class="value">{escape(bar.text)}</text>')
        y += BAR_H + GAP
    body.append(f'<line x1="{centre:.1f}" y1="20" x2="{centre:.1f}" y2="{y}" class="zero"/>')
    return _frame(chart_id, title, desc, y + 4, "".join(body))
