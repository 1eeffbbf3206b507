"""Charts drawn on the server as SVG: no script, no CDN, readable on a phone (they scale with
their viewBox). Every label is escaped; every shown number carries `data-metric` so a test can
compare the screen with the reports API."""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

MARKETING = "#2f6fdb"
SALES = "#e07a1f"
GOOD = "#2e9e5b"
WARN = "#d9a400"
BAD = "#d64545"
MUTED = "#8a94a6"
COUNT_CHAR = 8.5  # the width of one bold 13px digit, near enough


def _text(
    x: float, y: float, body: str, *, size: int = 12, anchor: str = "start", **attrs: str
) -> str:
    extra = "".join(f' {k.replace("_", "-")}="{escape(v)}"' for k, v in attrs.items())
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}"{extra}>'
        f"{escape(body)}</text>"
    )


def _svg(width: int, height: int, body: list[str], label: str) -> str:
    return (
        f'<svg viewBox="0 0 {width} {height}" role="img" aria-label="{escape(label)}" '
        f'xmlns="http://www.w3.org/2000/svg" class="chart">{"".join(body)}</svg>'
    )


def funnel(stages: Sequence[tuple[str, int, float | None]]) -> str:
    """Stages as centred bars, widest first; each with its count and conversion from the one
    above. `stages` is (name, count, conversion into this stage)."""
    width, row = 480, 34
    top = max((c for _, c, _ in stages), default=0) or 1
    body = []
    for i, (name, count, conversion) in enumerate(stages):
        w = max(2.0, 300 * count / top)
        y = 6 + i * row
        shade = MARKETING if i < 3 else SALES
        body.append(
            f'<rect x="{240 - w / 2:.1f}" y="{y}" width="{w:.1f}" height="{row - 8}" rx="4" '
            f'fill="{shade}" opacity="{1 - i * 0.1:.2f}"/>'
        )
        body.append(_text(8, y + 18, name, size=13))
        body.append(_count(str(count), w, y + 18, f"funnel.{name}"))
        if conversion is not None:
            body.append(_text(472, y + 18, f"{conversion:.0%}", size=12, anchor="end", fill=MUTED))
    return _svg(width, 6 + row * len(stages), body, "Funnel by stage")


def _count(shown: str, w: float, y: float, metric: str) -> str:
    """A funnel bar's count: inside the bar when it fits, else beside it, dark on white."""
    if w >= COUNT_CHAR * len(shown) + 8:
        x, anchor, colour = 240.0, "middle", "#fff"
    else:
        x, anchor, colour = 240 + w / 2 + 4, "start", "#1f2633"
    return _text(
        x, y, shown, size=13, anchor=anchor, fill=colour, font_weight="bold", data_metric=metric
    )


def gauge(share: float | None, title: str, detail: str, metric: str) -> str:
    """A half-circle gauge from 0 to 100% (beyond 100% stays full), coloured by the share."""
    cx, cy, r = 110, 110, 86
    body = [
        f'<path d="M {cx - r} {cy} A {r} {r} 0 0 1 {cx + r} {cy}" fill="none" '
        f'stroke="#e6e9ef" stroke-width="18" stroke-linecap="round"/>'
    ]
    if share is not None:
        s = min(max(share, 0.0), 1.0)
        angle = math.pi * (1 - s)
        x, y = cx + r * math.cos(angle), cy - r * math.sin(angle)
        colour = GOOD if share >= 0.9 else WARN if share >= 0.7 else BAD
        if s > 0:
            body.append(
                f'<path d="M {cx - r} {cy} A {r} {r} 0 0 1 {x:.1f} {y:.1f}" fill="none" '
                f'stroke="{colour}" stroke-width="18" stroke-linecap="round"/>'
            )
    shown = "n/a" if share is None else f"{share:.0%}"
    body.append(
        _text(cx, cy - 14, shown, size=30, anchor="middle", font_weight="bold", data_metric=metric)
    )
    body.append(_text(cx, cy + 12, title, size=12, anchor="middle", fill=MUTED))
    body.append(_text(cx, cy + 30, detail, size=12, anchor="middle"))
    return _svg(220, 150, body, f"{title}: {shown}")


def columns(items: Sequence[tuple[str, int]], colour: str, metric: str, label: str) -> str:
    """Vertical bars with counts above them and labels below (a distribution)."""
    width, height, base = 480, 180, 140
    top = max((n for _, n in items), default=0) or 1
    step = (width - 20) / max(len(items), 1)
    body = [f'<line x1="10" y1="{base}" x2="{width - 10}" y2="{base}" stroke="#d5d9e0"/>']
    for i, (name, n) in enumerate(items):
        h = 110 * n / top
        x = 10 + i * step + step * 0.15
        fill = MUTED if name == "not touched" else colour
        body.append(
            f'<rect x="{x:.1f}" y="{base - h:.1f}" width="{step * 0.7:.1f}" height="{h:.1f}" '
            f'rx="3" fill="{fill}"/>'
        )
        body.append(
            _text(
                x + step * 0.35,
                base - h - 5,
                str(n),
                size=12,
                anchor="middle",
                data_metric=f"{metric}.{name}",
            )
        )
        body.append(_text(x + step * 0.35, base + 16, name, size=10, anchor="middle"))
    return _svg(width, height, body, label)


def bars(
    items: Sequence[tuple[str, float, float]],
    metric: str,
    label: str,
    fmt: str = "{:,.0f}",
    colours: tuple[str, str] = (MARKETING, "#b8cdf2"),
    second_label: str | None = None,
) -> str:
    """Horizontal bars per group: a main value and a second, lighter one stacked after it
    (won revenue and pipeline, say). `items` is (group, main, second); with `second_label`,
    the second value is written after the first ("+ 1,200 EUR pipeline")."""
    width, row = 640 if second_label else 480, 26  # room for the second value's label
    top = max((a + b for _, a, b in items), default=0) or 1
    body = []
    for i, (name, main, second) in enumerate(items):
        y = 4 + i * row
        w1, w2 = 230 * main / top, 230 * second / top
        body.append(_text(150, y + 15, name[:24], size=11, anchor="end"))
        body.append(
            f'<rect x="156" y="{y + 3}" width="{w1:.1f}" height="16" rx="2" fill="{colours[0]}"/>'
        )
        if second:
            body.append(
                f'<rect x="{156 + w1:.1f}" y="{y + 3}" width="{w2:.1f}" height="16" '
                f'rx="2" fill="{colours[1]}"/>'
            )
        body.append(
            _text(160 + w1 + w2, y + 15, fmt.format(main), size=11, data_metric=f"{metric}.{name}")
        )
        if second and second_label:
            shown = f"+ {fmt.format(second)} {second_label}"
            body.append(
                _text(
                    width - 4,
                    y + 15,
                    shown,
                    size=10,
                    anchor="end",
                    fill=MUTED,
                    data_metric=f"{metric}.{name}.{second_label}",
                )
            )
    if not items:
        body.append(_text(width / 2, 20, "no data yet", size=12, anchor="middle", fill=MUTED))
    return _svg(width, max(30, 8 + row * len(items)), body, label)
