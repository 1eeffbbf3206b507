"""The dashboard's panels: each an HTML fragment (SVG inside) from the same queries as the
reports API, so the screen and the API show the same numbers."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import jinja2
from markupsafe import Markup
from sqlalchemy.ext.asyncio import AsyncConnection

from leadloop_feedback.adapters import feeds, queries
from leadloop_feedback.domain import reviews, svg
from leadloop_feedback.domain.money import Exchange
from leadloop_feedback.domain.period import NO_FILTERS, Period, last_days, month_of
from leadloop_feedback.domain.reports import FUNNEL
from leadloop_feedback.entrypoints import times

TEMPLATES = jinja2.Environment(
    loader=jinja2.PackageLoader("leadloop_feedback", "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
)
TEMPLATES.globals.update(when=times.when, timed=times.timed)
PANELS = TEMPLATES.get_template("panels.html")


STAGES = FUNNEL
_minutes = reviews.minutes


def _render(macro: str, **values: Any) -> str:
    """One panel: a macro of panels.html; values wrapped in Markup are trusted SVG."""
    module: Any = PANELS.module
    return str(getattr(module, macro)(values))


def _funnel_panel(everything: dict[str, Any], days: int) -> tuple[str, dict[str, int]]:
    groups = everything["groups"]
    found = groups[0]["counts"] if groups else {}
    counts: dict[str, int] = {s: int(found.get(s, 0)) for s in STAGES}
    conversion = groups[0]["conversion"] if groups else {}
    steps = [
        (s, counts[s], None if i == 0 else conversion.get(f"{STAGES[i - 1]}_to_{s}"))
        for i, s in enumerate(STAGES)
    ]
    return _render("funnel", days=days, svg=Markup(svg.funnel(steps))), counts


def _sla_panels(sla: dict[str, Any]) -> dict[str, str]:
    overall = sla["sales"]["overall"] or {}
    mql = sla["marketing"]["mql"]
    handed = (
        f"{overall.get('touched', 0)} of {overall.get('assigned', 0)} touched, "
        f"{overall.get('pending', 0)} pending"
    )
    marketing = svg.gauge(
        mql.get("pacing"),
        "MQL target pacing",
        f"{mql['delivered']} of {mql['target']}" if mql.get("target") else "no target",
        "sla.mql_pacing",
    )
    sales = svg.gauge(
        overall.get("touched_within_sla"), "touched within SLA", handed, "sla.touched_within_sla"
    )
    sales_line = (
        f"p50 {_minutes(overall.get('p50_minutes'))}, p90 {_minutes(overall.get('p90_minutes'))}"
        f", {overall.get('breaches', 0)} breaches, {overall.get('reassignments', 0)} reassignments"
    )
    bands = [(b["band"], b["count"]) for b in sla["sales"]["distribution"]]
    return {
        "sla": _render(
            "sla",
            marketing_svg=Markup(marketing),
            sales_svg=Markup(sales),
            mql_line=_mql_line(mql),
            sales_line=sales_line,
        ),
        "speed": _render(
            "speed",
            limit=_minutes(sla["sales"]["first_touch_minutes"]),
            svg=Markup(svg.columns(bands, svg.SALES, "speed", "Speed-to-lead distribution")),
        ),
    }


def _mql_line(mql: dict[str, Any]) -> str:
    """MQLs delivered against the target as the agreement writes it, and the pacing."""
    if not mql.get("target"):
        return f"{mql['delivered']} MQLs delivered (no target agreed)"
    return f"{mql['delivered']} MQLs delivered; target {mql['goal']}; {mql['summary']}"


def _grouped_panel(
    title: str, funnel: dict[str, Any], revenue: dict[str, Any], key: str, days: int
) -> str:
    """MQLs, won revenue and pipeline per source or campaign (the eight largest)."""
    mqls = [(g["group"], g["counts"]["mql"], 0.0) for g in funnel["groups"]]
    money = [(g["group"], g["won_revenue"], g["pipeline"]) for g in revenue["groups"]]
    mqls.sort(key=lambda t: -t[1])
    money.sort(key=lambda t: -(t[1] + t[2]))
    currency = revenue["currency"]
    model = str(revenue.get("attribution") or "").replace("_", " ")
    named = f"{currency}, {model} attribution" if model else currency
    chart = svg.bars(
        money[:8],
        f"won.{key}",
        f"Revenue by {key} ({named})",
        fmt="{:,.0f} " + currency,
        colours=(svg.GOOD, "#bfe3cd"),
        second_label="pipeline",
    )
    return _render(
        "by_group",
        title=title,
        days=days,
        currency=currency,
        model=model,
        mql_svg=Markup(svg.bars(mqls[:8], f"mql.{key}", f"MQLs by {key}")),
        revenue_svg=Markup(chart),
    )


async def panels(conn: AsyncConnection, days: int, exchange: Exchange) -> dict[str, str]:
    """Every panel of the dashboard as HTML (SVG inside), from the same queries as the API:
    the funnel and the groups over the last `days`, the agreement over this month."""
    p = last_days(days)
    everything = await queries.funnel(conn, p, NO_FILTERS, "all")
    revenue_source = await queries.revenue(conn, p, NO_FILTERS, "source", "linear", exchange)
    sla = await queries.sla(conn, month_of(datetime.now(UTC)), NO_FILTERS, "rep_id")
    funnel_panel, counts = _funnel_panel(everything, days)
    return {
        "kpis": _kpis_panel(days, counts, revenue_source, sla),
        "funnel": funnel_panel,
        **_sla_panels(sla),
        **await _group_panels(conn, p, days, exchange, revenue_source),
        **await _feed_panels(conn),
    }


def _kpis_panel(
    days: int, counts: dict[str, int], revenue_source: dict[str, Any], sla: dict[str, Any]
) -> str:
    """The headline numbers: stage counts, won revenue, pipeline and the median first touch."""
    # every lead has one source, so the totals over sources count each deal once
    return _render(
        "kpis",
        days=days,
        counts=counts,
        won=sum(g["won_revenue"] for g in revenue_source["groups"]),
        pipeline=sum(g["pipeline"] for g in revenue_source["groups"]),
        currency=revenue_source["currency"],
        unconverted=revenue_source["unconverted"],
        p50=_minutes((sla["sales"]["overall"] or {}).get("p50_minutes")),
    )


async def _group_panels(
    conn: AsyncConnection,
    p: Period,
    days: int,
    exchange: Exchange,
    revenue_source: dict[str, Any],
) -> dict[str, str]:
    """The panels by source and by campaign."""
    return {
        "sources": _grouped_panel(
            "By source",
            await queries.funnel(conn, p, NO_FILTERS, "source"),
            revenue_source,
            "source",
            days,
        ),
        "campaigns": _grouped_panel(
            "By campaign",
            await queries.funnel(conn, p, NO_FILTERS, "campaign"),
            await queries.revenue(conn, p, NO_FILTERS, "campaign", "linear", exchange),
            "campaign",
            days,
        ),
    }


def no_breach(untouched: int) -> str:
    """What the breach feed says while it is empty: all in time only once all are touched."""
    if untouched == 0:
        return "No breach: every hand-off was touched in time."
    plural = "hand-off" if untouched == 1 else "hand-offs"
    return f"No breach yet; {untouched} {plural} not yet touched."


async def _feed_panels(conn: AsyncConnection) -> dict[str, str]:
    """The latest hand-offs and the latest SLA breaches."""
    return {
        "handoffs": _render(
            "feed",
            title="Latest hand-offs",
            rows=await feeds.latest(conn, feeds.HANDOFF_TYPES, 10),
            empty="No lead handed to sales yet.",
        ),
        "breaches": _render(
            "feed",
            title="Latest SLA breaches",
            rows=await feeds.latest(conn, feeds.BREACH_TYPES, 10),
            empty=no_breach(await feeds.untouched(conn)),
        ),
    }
