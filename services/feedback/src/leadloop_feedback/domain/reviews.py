"""The agenda of the weekly (or monthly) sales and marketing meeting, generated from two
periods' reports: results against the agreement, SLA compliance on both sides, lead-quality
feedback, revenue, what changed since last time, and the points that need a decision.

Pure: it takes report bodies (as `leadloop_feedback.adapters.queries` builds them) and returns an
`Agenda`, which renders as Markdown here and as HTML through a template.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from leadloop_feedback.domain.markdown import escape
from leadloop_feedback.domain.review_parts import (
    Agenda,
    Section,
    Snapshot,
    Table,
    change,
    minutes,
    money,
    pct,
    roi,
)
from leadloop_feedback.domain.review_sections import (
    decisions,
    lead_quality,
    marketing_sla,
    results,
    revenue,
    sales_sla,
    what_changed,
)

__all__ = [
    "Agenda",
    "Section",
    "Snapshot",
    "Table",
    "agenda",
    "change",
    "minutes",
    "money",
    "pct",
    "roi",
    "to_markdown",
]


def agenda(
    kind: str,
    now: Snapshot,
    before: Snapshot,
    agreements: Sequence[Mapping[str, Any]] = (),
) -> Agenda:
    """The meeting's agenda for one period, compared with the one before."""
    start, end = now.funnel["period"]["start"], now.funnel["period"]["end"]
    return Agenda(
        title=f"{kind.capitalize()} sales and marketing review",
        period_start=start,
        period_end=end,
        sections=[
            results(now, before),
            marketing_sla(now),
            sales_sla(now, before),
            lead_quality(now),
            revenue(now),
            what_changed(now, before, agreements),
            decisions(now),
        ],
    )


def to_markdown(a: Agenda) -> str:
    """The agenda as Markdown; every text is escaped, since names come from outside."""
    lines = [
        f"# {escape(a.title)}",
        "",
        f"{a.period_start:%Y-%m-%d %H:%M} to {a.period_end:%Y-%m-%d %H:%M} UTC",
    ]
    for number, section in enumerate(a.sections, 1):
        lines += ["", f"## {number}. {escape(section.title)}", ""]
        lines += [f"- {escape(b)}" for b in section.bullets]
        if section.table:
            lines += ["", "| " + " | ".join(escape(c) for c in section.table.columns) + " |"]
            lines.append("|" + "---|" * len(section.table.columns))
            lines += ["| " + " | ".join(escape(c) for c in r) + " |" for r in section.table.rows]
    return "\n".join(lines) + "\n"
