"""Bar charts as server-rendered SVG: no chart library in the browser, readable without script.

Pure: values in, markup out (escaped). Each bar carries a <title> so screen readers and
hover show the exact figure; the page also shows the same numbers as a table.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from html import escape

BAR_HEIGHT = 22
BAR_GAP = 8
LABEL_WIDTH = 230
LABEL_CHARS = 28
CHART_WIDTH = 640
VALUE_WIDTH = 60
FULL_SCALE = Decimal(100)


@dataclass(frozen=True)
class Bar:
    label: str
    value: Decimal | None  # None: nothing applies (drawn as an empty row)
    # The value as the province prints it (97,685); default: the value itself.
    text: str | None = None


def _short(label: str) -> str:
    return label if len(label) <= LABEL_CHARS else label[: LABEL_CHARS - 1] + "…"


def bar_chart(title: str, bars: Sequence[Bar], scale: Decimal = FULL_SCALE) -> str:
    plot = CHART_WIDTH - LABEL_WIDTH - VALUE_WIDTH
    height = len(bars) * (BAR_HEIGHT + BAR_GAP) + BAR_GAP
    parts = [
        f'<svg class="chart" role="img" aria-label="{escape(title)}" viewBox="0 0 {CHART_WIDTH} {height}"'
        f' width="100%" preserveAspectRatio="xMinYMin meet" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
    ]
    for row, bar in enumerate(bars):
        y = BAR_GAP + row * (BAR_HEIGHT + BAR_GAP)
        middle = y + BAR_HEIGHT / 2 + 5
        parts.append(
            f'<text x="{LABEL_WIDTH - 8}" y="{middle}" text-anchor="end" class="chart-label">'
            f"{escape(_short(bar.label))}</text>"
        )
        if bar.value is None:
            parts.append(f'<text x="{LABEL_WIDTH}" y="{middle}" class="chart-value">—</text>')
            continue
        share = max(Decimal(0), min(bar.value / scale, Decimal(1))) if scale > 0 else Decimal(0)
        width = round(float(share) * plot, 1)
        shown = escape(bar.text if bar.text is not None else str(bar.value))
        parts.append(
            f'<rect x="{LABEL_WIDTH}" y="{y}" width="{width}" height="{BAR_HEIGHT}" class="chart-bar">'
            f"<title>{escape(bar.label)}: {shown}</title></rect>"
        )
        parts.append(f'<text x="{LABEL_WIDTH + width + 6}" y="{middle}" class="chart-value">{shown}</text>')
    parts.append("</svg>")
    return "".join(parts)
