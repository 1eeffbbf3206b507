"""The read side: each report as a dict, from the closed-loop read model.

The reports API, the weekly and monthly reviews and the dashboard all answer from these
functions, so the numbers on every screen are the same numbers.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from leadloop_contract.agreement import Agreement
from leadloop_feedback.adapters.repository import newest_agreement
from leadloop_feedback.adapters.tables import (
    assignments,
    campaigns,
    deals,
    leads,
    stage_events,
    statuses,
    touches,
)
from leadloop_feedback.domain import reports
from leadloop_feedback.domain import revenue as money_math
from leadloop_feedback.domain import sla as sla_math
from leadloop_feedback.domain.money import Exchange, split_spend
from leadloop_feedback.domain.period import (
    NO_FILTERS,
    Filters,
    Period,
    last_days,
)

Row = dict[str, Any]


async def rows(conn: AsyncConnection, query: Any) -> list[Row]:
    return [dict(r._mapping) for r in await conn.execute(query)]


def _lead_filters(query: Any, f: Filters) -> Any:
    if f.source:
        query = query.where(leads.c.source == f.source)
    if f.campaign:
        query = query.where(sa.literal(f.campaign) == sa.any_(leads.c.campaigns))
    return query


async def leads_in(conn: AsyncConnection, p: Period, f: Filters = NO_FILTERS) -> list[Row]:
    """Leads first seen in the period (not erased), narrowed by source or campaign."""
    query = sa.select(leads).where(
        leads.c.erased.is_(False), leads.c.first_seen_at >= p.start, leads.c.first_seen_at < p.end
    )
    return await rows(conn, _lead_filters(query, f))


async def of_leads(conn: AsyncConnection, table: sa.Table, ids: list[str]) -> list[Row]:
    if not ids:
        return []
    return await rows(conn, sa.select(table).where(table.c.lead_id.in_(ids)))


def _ids(found: list[Row]) -> list[str]:
    return [r["lead_id"] for r in found]


async def funnel(conn: AsyncConnection, p: Period, f: Filters, group_by: str) -> dict[str, Any]:
    found = await leads_in(conn, p, f)
    events = await of_leads(conn, stage_events, _ids(found))
    return {
        "period": p.as_dict(),
        "filters": f.as_dict(),
        "group_by": group_by,
        "groups": reports.funnel(found, events, by=group_by),
    }


async def lead_quality(
    conn: AsyncConnection, p: Period, f: Filters, group_by: str
) -> dict[str, Any]:
    found = await leads_in(conn, p, f)
    verdicts = await of_leads(conn, statuses, _ids(found))
    return {
        "period": p.as_dict(),
        "filters": f.as_dict(),
        "group_by": group_by,
        "groups": reports.lead_quality(found, verdicts, by=group_by),
    }


async def revenue(
    conn: AsyncConnection, p: Period, f: Filters, group_by: str, model: str, exchange: Exchange
) -> dict[str, Any]:
    """Revenue in the reporting currency; amounts in a currency without a rate listed apart."""
    found = await leads_in(conn, p, f)
    closed = await of_leads(conn, deals, _ids(found))
    counts: dict[str, dict[str, int]] = {}
    spend: dict[str, Decimal] | None = None
    spend_apart: dict[str, dict[str, Decimal]] = {}
    if group_by == "campaign":
        events = await of_leads(conn, stage_events, _ids(found))
        counts = {g["group"]: g["counts"] for g in reports.funnel(found, events, by="campaign")}
        costs = await rows(conn, sa.select(campaigns))
        spend, spend_apart = split_spend(
            {r["campaign_id"]: (r["spend"], r["currency"]) for r in costs}, exchange
        )
    return {
        "period": p.as_dict(),
        "filters": f.as_dict(),
        "group_by": group_by,
        "attribution": model,
        **exchange.describe(),
        "unconverted": money_math.unconverted(found, closed, exchange, spend_apart),
        "groups": money_math.revenue(
            found,
            closed,
            by=group_by,
            model=model,
            spend=spend,
            stage_counts=counts,
            exchange=exchange,
            spend_apart=spend_apart,
        ),
        "lifetime_value_by_source": money_math.lifetime_value(found, closed, exchange=exchange),
    }


async def current_agreement(conn: AsyncConnection) -> Agreement | None:
    """The newest agreement feedback has seen, typed (None before the first)."""
    return await newest_agreement(conn)


async def handoffs(conn: AsyncConnection, p: Period, f: Filters) -> tuple[list[Row], list[Row]]:
    """Assignments made in the period (narrowed by every filter) and their leads' touches."""
    query = sa.select(assignments).where(
        assignments.c.assigned_at >= p.start, assignments.c.assigned_at < p.end
    )
    if f.team:
        query = query.where(assignments.c.team == f.team)
    if f.rep_id:
        query = query.where(assignments.c.rep_id == f.rep_id)
    if f.source or f.campaign:
        wanted = _lead_filters(sa.select(leads.c.lead_id), f)
        query = query.where(assignments.c.lead_id.in_(wanted))
    given = await rows(conn, query)
    return given, await of_leads(conn, touches, _ids(given))


async def sla(conn: AsyncConnection, p: Period, f: Filters, by: str) -> dict[str, Any]:
    """Both sides of the agreement: marketing's MQLs and SQLs against the monthly targets
    (prorated to the period, with pacing), sales' speed to lead. An MQL (or SQL) of the period
    is counted as the funnel counts it: a lead first seen in the period that reached the stage
    or went past it, so the review's tables and its SLA show one number."""
    found_leads = await leads_in(conn, p, f)
    events = await of_leads(conn, stage_events, _ids(found_leads))
    everything = reports.funnel(found_leads, events, by="all")
    counts = everything[0]["counts"] if everything else {}
    given, found = await handoffs(conn, p, f)
    agreement = await current_agreement(conn)
    terms = agreement.sla if agreement else None
    elapsed = (min(datetime.now(UTC), p.end) - p.start).total_seconds() / 86400

    def pace(stage: str, per_month: int | None) -> dict[str, Any]:
        target = sla_math.prorated(per_month, p.days)
        return sla_math.pacing(counts.get(stage, 0), target, elapsed, p.days, per_month=per_month)

    everyone = sla_math.speed_to_lead(given, found, by="all")
    return {
        "period": p.as_dict(),
        "filters": f.as_dict(),
        "marketing": {
            "mql": pace("mql", terms.mql_target_per_month if terms else None),
            "sql": pace("sql", terms.sql_target_per_month if terms else None),
        },
        "sales": {
            "first_touch_minutes": terms.first_touch_minutes if terms else None,
            "overall": everyone[0] if everyone else None,
            "by": by,
            "groups": sla_math.speed_to_lead(given, found, by=by),
            "distribution": sla_math.speed_histogram(given, found),
        },
    }


async def score_calibration(
    conn: AsyncConnection, p: Period, f: Filters, thresholds: list[float], exchange: Exchange
) -> dict[str, Any]:
    found = await leads_in(conn, p, f)
    closed = await of_leads(conn, deals, _ids(found))
    if not thresholds:
        agreement = await current_agreement(conn)
        matrix = agreement.matrix if agreement else None
        in_force = [matrix.mql.min_total, matrix.sql.min_total] if matrix else []
        thresholds = sorted({float(t) for t in (25.0, 45.0, 65.0, 85.0, 105.0, *in_force)})
    return {
        "period": p.as_dict(),
        "filters": f.as_dict(),
        **money_math.score_calibration(found, closed, thresholds=thresholds, exchange=exchange),
    }


async def plan(
    conn: AsyncConnection, revenue_goal: Decimal, months: int, exchange: Exchange
) -> dict[str, Any]:
    """Work back from a goal (in the reporting currency) with the last twelve months' rates;
    ValueError without history. Won deals without a rate stay out of the average deal size."""
    window = last_days(365)
    found = await leads_in(conn, window)
    closed = await of_leads(conn, deals, _ids(found))
    events = await of_leads(conn, stage_events, _ids(found))
    rates: dict[str, float | None] = {}
    for everything in reports.funnel(found, events, by="all"):
        counts = everything["counts"]
        rates = {
            **everything["conversion"],
            "sql_to_opportunity": reports.rate(counts["opportunity"], counts["sql"]),
        }
    won = [d for d in money_math.latest_deals(closed).values() if d["stage"] == "won"]
    amounts = [exchange.convert(Decimal(d["amount"]), d["currency"]) for d in won]
    known = [a for a in amounts if a is not None]
    if won and not known:
        raise ValueError(f"no won deal in {exchange.currency} or in a currency with a rate yet")
    average = sum(known, Decimal()) / len(known) if known else Decimal()
    answer = reports.plan(
        revenue_goal,
        average_deal_size=average,
        rates=rates,
        months=months,
        run_rate_leads_per_month=len(found) / 12,
    )
    left_out = money_math.unconverted(found, closed, exchange).get("won_revenue", {})
    return {**answer, **exchange.describe(), "unconverted": {"won_revenue": left_out}}
