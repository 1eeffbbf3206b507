"""Reports over the closed-loop read model: JSON or CSV, a period and filters, `reports:read`."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Annotated, Any, Literal

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from leadloop_feedback.adapters.tables import (
    agreements,
    assignments,
    campaigns,
    deals,
    journey,
    leads,
    stage_events,
    statuses,
    touches,
)
from leadloop_feedback.domain import reports
from leadloop_platform.auth.guard import require_scope
from leadloop_platform.http.problems import Problem

router = APIRouter(prefix="/v1", tags=["reports"])
READ = Depends(require_scope("reports:read"))
Format = Annotated[Literal["json", "csv"], Query()]
GroupBy = Annotated[Literal["all", "source", "campaign", "cohort"], Query()]


class Period(BaseModel):
    start: datetime
    end: datetime


def period(
    from_: Annotated[datetime | None, Query(alias="from")] = None,
    to: Annotated[datetime | None, Query()] = None,
) -> Period:
    """`from` and `to` (ISO dates or times); default: the last 90 days."""
    end = (to or datetime.now(UTC)).astimezone(UTC) if to else datetime.now(UTC)
    start = from_.astimezone(UTC) if from_ else end - timedelta(days=90)
    if start >= end:
        raise Problem(422, "`from` must be before `to`", kind="validation-error")
    return Period(start=start, end=end)


PeriodDep = Annotated[Period, Depends(period)]


def flatten(row: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in row.items():
        if isinstance(value, dict):
            out.update(flatten(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def answer(body: dict[str, Any], rows_key: str, fmt: str) -> Any:
    """The report as JSON, or its rows as CSV (nested fields dotted)."""
    if fmt == "json":
        return body
    rows = [flatten(r) for r in body[rows_key]]
    columns = sorted({k for r in rows for k in r}, key=lambda k: (k != "group", k))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns)
    writer.writeheader()
    writer.writerows(rows)
    return Response(buffer.getvalue(), media_type="text/csv; charset=utf-8")


async def _rows(conn: AsyncConnection, query: Any) -> list[dict[str, Any]]:
    return [dict(r._mapping) for r in await conn.execute(query)]


async def _leads(
    conn: AsyncConnection, p: Period, source: str | None, campaign: str | None
) -> list[dict[str, Any]]:
    query = sa.select(leads).where(
        leads.c.erased.is_(False), leads.c.first_seen_at >= p.start, leads.c.first_seen_at < p.end
    )
    if source:
        query = query.where(leads.c.source == source)
    if campaign:
        query = query.where(sa.literal(campaign) == sa.any_(leads.c.campaigns))
    return await _rows(conn, query)


def _of(table: sa.Table, ids: list[str]) -> Any:
    return sa.select(table).where(table.c.lead_id.in_(ids))


@router.get(
    "/reports/funnel",
    dependencies=[READ],
    summary="Counts per stage, conversion, "
    "median days in stage; by source, campaign or monthly cohort",
)
async def funnel_report(
    request: Request,
    p: PeriodDep,
    group_by: GroupBy = "all",
    source: str | None = None,
    campaign: str | None = None,
    format: Format = "json",
) -> Any:
    async with request.app.state.engine.connect() as conn:
        rows = await _leads(conn, p, source, campaign)
        events = await _rows(conn, _of(stage_events, [r["lead_id"] for r in rows]))
    body = {
        "period": p.model_dump(),
        "group_by": group_by,
        "groups": reports.funnel(rows, events, by=group_by),
    }
    return answer(body, "groups", format)


@router.get(
    "/reports/lead-quality",
    dependencies=[READ],
    summary="Acceptance and rejection by source or campaign, with rejection reasons",
)
async def lead_quality_report(
    request: Request, p: PeriodDep, group_by: GroupBy = "source", format: Format = "json"
) -> Any:
    async with request.app.state.engine.connect() as conn:
        rows = await _leads(conn, p, None, None)
        found = await _rows(conn, _of(statuses, [r["lead_id"] for r in rows]))
    body = {
        "period": p.model_dump(),
        "group_by": group_by,
        "groups": reports.lead_quality(rows, found, by=group_by),
    }
    return answer(body, "groups", format)


@router.get(
    "/reports/revenue",
    dependencies=[READ],
    summary="Won revenue, pipeline, win rate, deal size, attribution, cost and ROI",
)
async def revenue_report(
    request: Request,
    p: PeriodDep,
    group_by: Literal["source", "campaign"] = "campaign",
    model: Literal["first_touch", "last_touch", "linear"] = "linear",
    format: Format = "json",
) -> Any:
    async with request.app.state.engine.connect() as conn:
        rows = await _leads(conn, p, None, None)
        found = await _rows(conn, _of(deals, [r["lead_id"] for r in rows]))
        events = await _rows(conn, _of(stage_events, [r["lead_id"] for r in rows]))
        spend = {r["campaign_id"]: r["spend"] for r in await _rows(conn, sa.select(campaigns))}
    counts: dict[str, dict[str, int]] = {}
    if group_by == "campaign":
        for g in reports.funnel(rows, events, by="campaign"):
            counts[g["group"]] = g["counts"]
    body = {
        "period": p.model_dump(),
        "group_by": group_by,
        "attribution": model,
        "groups": reports.revenue(
            rows,
            found,
            by=group_by,
            model=model,
            spend=spend if group_by == "campaign" else None,
            stage_counts=counts,
        ),
        "lifetime_value_by_source": reports.lifetime_value(rows, found),
    }
    return answer(body, "groups", format)


@router.get(
    "/reports/sla",
    dependencies=[READ],
    summary="The agreement, both sides: MQLs and SQLs against target; speed to lead",
)
async def sla_report(
    request: Request,
    p: PeriodDep,
    by: Literal["rep_id", "team"] = "rep_id",
    format: Format = "json",
) -> Any:
    async with request.app.state.engine.connect() as conn:
        events = await _rows(
            conn,
            sa.select(stage_events).where(stage_events.c.at >= p.start, stage_events.c.at < p.end),
        )
        given = await _rows(
            conn,
            sa.select(assignments).where(
                assignments.c.assigned_at >= p.start, assignments.c.assigned_at < p.end
            ),
        )
        found = await _rows(conn, _of(touches, [a["lead_id"] for a in given]))
        document = (
            await conn.execute(
                sa.select(agreements.c.document).order_by(agreements.c.published_at.desc()).limit(1)
            )
        ).scalar()
    sla = (document or {}).get("sla", {})
    days = (p.end - p.start).total_seconds() / 86400
    elapsed = (min(datetime.now(UTC), p.end) - p.start).total_seconds() / 86400
    month_share = days / 30.4375

    def target(key: str) -> int | None:
        value = sla.get(key)
        return round(value * month_share) if value else None

    mqls = len({e["lead_id"] for e in events if e["to_stage"] == "mql"})
    sqls = len({e["lead_id"] for e in events if e["to_stage"] == "sql"})
    body = {
        "period": p.model_dump(),
        "marketing": {
            "mql": reports.pacing(mqls, target("mql_target_per_month"), elapsed, days),
            "sql": reports.pacing(sqls, target("sql_target_per_month"), elapsed, days),
        },
        "sales": {
            "first_touch_minutes": sla.get("first_touch_minutes"),
            "groups": reports.speed_to_lead(given, found, by=by),
        },
    }
    if format == "csv":
        return answer({"groups": body["sales"]["groups"]}, "groups", format)
    return body


@router.get(
    "/reports/plan",
    dependencies=[READ],
    summary="Work back from a revenue goal to customers, opportunities, SQLs, MQLs, leads",
)
async def plan_report(
    request: Request,
    revenue_goal: Annotated[Decimal, Query(gt=0)],
    period: Annotated[int, Query(ge=1, le=36, description="months")] = 12,
) -> dict[str, Any]:
    end = datetime.now(UTC)
    window = Period(start=end - timedelta(days=365), end=end)
    async with request.app.state.engine.connect() as conn:
        rows = await _leads(conn, window, None, None)
        found = await _rows(conn, _of(deals, [r["lead_id"] for r in rows]))
        events = await _rows(conn, _of(stage_events, [r["lead_id"] for r in rows]))
    rates: dict[str, float | None] = {}
    for everything in reports.funnel(rows, events, by="all"):
        counts = everything["counts"]
        rates = {
            **everything["conversion"],
            "sql_to_opportunity": reports.rate(counts["opportunity"], counts["sql"]),
        }
    won = [d for d in reports.latest_deals(found).values() if d["stage"] == "won"]
    average = sum((Decimal(d["amount"]) for d in won), Decimal()) / len(won) if won else Decimal()
    try:
        return reports.plan(
            revenue_goal,
            average_deal_size=average,
            rates=rates,
            months=period,
            run_rate_leads_per_month=len(rows) / 12,
        )
    except ValueError as exc:
        raise Problem(422, f"not enough history to plan: {exc}", kind="insufficient-data") from exc


@router.get(
    "/leads/{lead_id}/journey",
    dependencies=[READ],
    summary="Every event of one lead, in order, in words",
)
async def lead_journey(request: Request, lead_id: str) -> dict[str, Any]:
    async with request.app.state.engine.connect() as conn:
        lines = await _rows(
            conn,
            sa.select(journey)
            .where(journey.c.lead_id == lead_id)
            .order_by(journey.c.at, journey.c.event_id),
        )
    if not lines:
        raise Problem(404, f"no journey for lead {lead_id}", kind="lead-not-found")
    return {
        "lead_id": lead_id,
        "events": [
            {"at": line["at"], "type": line["event_type"], "summary": line["summary"]}
            for line in lines
        ],
    }


class CampaignIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200)
    spend: Decimal = Field(ge=0, max_digits=16, decimal_places=2)
    currency: str = Field(default="EUR", pattern=r"^[A-Z]{3}$")


@router.put(
    "/campaigns/{campaign_id}",
    dependencies=[Depends(require_scope("admin"))],
    summary="A campaign's cost, for cost per lead, MQL, customer and ROI",
)
async def put_campaign(request: Request, campaign_id: str, body: CampaignIn) -> dict[str, Any]:
    values = {"campaign_id": campaign_id, **body.model_dump(), "updated_at": datetime.now(UTC)}
    stmt = insert(campaigns).values(values)
    async with request.app.state.engine.begin() as conn:
        await conn.execute(
            stmt.on_conflict_do_update(
                index_elements=[campaigns.c.campaign_id], set_={k: stmt.excluded[k] for k in values}
            )
        )
    return {**values, "spend": float(body.spend)}
