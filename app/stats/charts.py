"""Server-rendered SVG bar charts: no script, no inline CSS (the console's CSP), and a
withheld figure drawn as an outlined empty bar labelled as withheld, never as zero."""

from __future__ import annotations

from dataclasses import dataclass

WIDTH, HEIGHT, PAD = 320, 160, 24


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str
    value: str
    withheld: bool


def bars(series: list[tuple[str, int | None]]) -> list[Bar]:
    """Bars for (label, count or None) in a WIDTH x HEIGHT box, tallest visible at the top."""
    if not series:
        return []
    top = max([v for _, v in series if v is not None] or [1])
    slot = (WIDTH - PAD) / len(series)
    out = []
    for i, (label, value) in enumerate(series):
        usable = HEIGHT - 2 * PAD
        h = usable * (value / top) if value else (usable if value is None else 0)
        out.append(
            Bar(
                x=PAD + i * slot + slot * 0.15,
                y=HEIGHT - PAD - h,
                width=slot * 0.7,
                height=h,
                label=label,
                value="—" if value is None else str(value),
                withheld=value is None,
            )
        )
    return out
