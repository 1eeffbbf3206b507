"""The parts of a review agenda (snapshots of reports, sections, tables) and how its numbers
are written: percentages, money, minutes and changes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

Report = Mapping[str, Any]


@dataclass(frozen=True)
class Snapshot:
    """The reports of one period."""

    funnel: Report
    sla: Report
    lead_quality: Report
    revenue: Report


@dataclass
class Table:
    """A table of text cells under its column headers."""

    columns: list[str]
    rows: list[list[str]]


@dataclass
class Section:
    """One point of the agenda: its bullets and, maybe, a table."""

    title: str
    bullets: list[str] = field(default_factory=list)
    table: Table | None = None


@dataclass
class Agenda:
    """The whole agenda of one review."""

    title: str
    period_start: datetime
    period_end: datetime
    sections: list[Section]


def counts_of(funnel: Report) -> dict[str, int]:
    """The leads reaching each stage, over all groups."""
    groups = funnel.get("groups") or []
    return dict(groups[0]["counts"]) if groups else {}


def conversion_of(funnel: Report) -> dict[str, float | None]:
    """The conversion between stages, over all groups."""
    groups = funnel.get("groups") or []
    return dict(groups[0]["conversion"]) if groups else {}


def pct(value: float | None) -> str:
    """A share as a whole percentage."""
    return "n/a" if value is None else f"{value:.0%}"


def money(value: float | None) -> str:
    """An amount, whole units with thousands separators."""
    return "n/a" if value is None else f"{value:,.0f}"


def roi(value: float | None) -> str:
    """Return on spend as people read it: (revenue − spend) / spend, signed."""
    return "n/a" if value is None else f"{value:+.0%}"


def minutes(value: float | None) -> str:
    """A duration in minutes, or hours from two hours on."""
    if value is None:
        return "n/a"
    if value < 120:
        return f"{value:.0f} min"
    return f"{value / 60:.1f} h"


def change(now: float | None, before: float | None) -> str:
    """'+25%', '−10%', 'new', 'unchanged' or '' when there is nothing to compare."""
    if now is None or before is None:
        return ""
    if before == 0:
        return "new" if now else "unchanged"
    delta = (now - before) / before
    if abs(delta) < 0.005:
        return "unchanged"
    return f"{'+' if delta > 0 else '−'}{abs(delta):.0%}"


def totals_of(revenue: Report) -> dict[str, float]:
    """Won revenue, pipeline, won deals and spend over all groups."""
    groups = revenue.get("groups") or []
    return {
        "won": sum(g.get("won_revenue") or 0 for g in groups),
        "pipeline": sum(g.get("pipeline") or 0 for g in groups),
        "deals": sum(g.get("won_deals") or 0 for g in groups),
        "spend": sum(g.get("spend") or 0 for g in groups),
    }


def in_currency(revenue: Report, label: str) -> str:
    """A money label with the reporting currency the report summed in."""
    currency = revenue.get("currency")
    return f"{label} ({currency})" if currency else label


def priced(revenue: Report, value: float | None) -> str:
    """An amount of the report with the reporting currency it was summed in."""
    currency = revenue.get("currency")
    return f"{money(value)} {currency}" if currency and value is not None else money(value)


def apart(revenue: Report) -> list[str]:
    """A bullet for amounts in currencies without a rate: shown, never added."""
    left = revenue.get("unconverted") or {}
    parts = [
        f"{metric.replace('_', ' ')} "
        + ", ".join(f"{money(amount)} {currency}" for currency, amount in by.items())
        for metric, by in left.items()
    ]
    if not parts:
        return []
    return [f"Not added, no exchange rate configured: {'; '.join(parts)}."]


def overall(sla: Report) -> Mapping[str, Any]:
    """Sales' speed to lead over every hand-off."""
    return (sla.get("sales") or {}).get("overall") or {}
