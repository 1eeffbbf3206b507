"""Reports over the closed-loop read model: JSON or CSV, a period and filters, `reports:read`."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from leadloop_events.instant import Instant
from leadloop_events.money import CurrencyCode
from leadloop_feedback import handlers
from leadloop_feedback.adapters import feeds, queries
from leadloop_feedback.adapters.uow import SqlUnitOfWork
from leadloop_feedback.domain.crm import Campaign, SetCampaignSpend
from leadloop_feedback.domain.period import Filters, Period, last_days, month_of
from leadloop_feedback.entrypoints import examples
from leadloop_platform.auth.guard import require_scope
from leadloop_platform.http.etags import ETAG_HEADER, IF_MATCH_FAILED, etag_of, require_match
from leadloop_platform.http.problems import Problem
from leadloop_runtime import Transactions

router = APIRouter(prefix="/v1", tags=["reports"])
READ = Depends(require_scope("reports:read"))
Format = Annotated[Literal["json", "csv"], Query()]
GroupBy = Annotated[Literal["all", "source", "campaign", "cohort"], Query()]


def period(
    from_: Annotated[Instant | None, Query(alias="from")] = None,
    to: Annotated[Instant | None, Query()] = None,
) -> Period:
    """`from` and `to` (ISO dates or times); default: the 90 days up to now."""
    return _period(from_, to, lambda: last_days(90))


def month_period(
    from_: Annotated[Instant | None, Query(alias="from")] = None,
    to: Annotated[Instant | None, Query()] = None,
) -> Period:
    """`from` and `to`; default: this calendar month (UTC), so pacing projects to its end."""
    return _period(from_, to, lambda: month_of(datetime.now(UTC)))


def _period(start: datetime | None, end: datetime | None, default: Callable[[], Period]) -> Period:
    if start is None and end is None:
        return default()
    end = end or datetime.now(UTC)
    start = start or end - timedelta(days=90)
    if start >= end:
        raise Problem(422, "`from` must be before `to`", kind="validation-error")
    return Period(start, end)


def filters(
    source: Annotated[str | None, Query(max_length=100)] = None,
    campaign: Annotated[str | None, Query(max_length=200)] = None,
    team: Annotated[str | None, Query(max_length=100)] = None,
    rep_id: Annotated[str | None, Query(max_length=100)] = None,
) -> Filters:
    """Narrow any report to a source, a campaign, a team or a rep."""
    return Filters(source=source, campaign=campaign, team=team, rep_id=rep_id)


PeriodDep = Annotated[Period, Depends(period)]
MonthDep = Annotated[Period, Depends(month_period)]
FiltersDep = Annotated[Filters, Depends(filters)]


def flatten(row: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in row.items():
        if isinstance(value, dict):
            out.update(flatten(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def inert(value: Any) -> Any:
    """A text cell a spreadsheet would run as a formula gets a leading quote (OWASP's rule);
    numbers stay numbers (-12.5 is a value, not a formula)."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def to_csv(rows: list[dict[str, Any]]) -> str:
    """Rows as CSV (nested fields dotted), every text cell and header made inert."""
    flat = [flatten(r) for r in rows]
    columns = sorted({k for r in flat for k in r}, key=lambda k: (k != "group", k))
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([inert(c) for c in columns])
    writer.writerows([inert(r.get(c)) for c in columns] for r in flat)
    return buffer.getvalue()


def csv_of(body: dict[str, Any], rows: list[dict[str, Any]]) -> str:
    """A report's rows as CSV, each row naming the report's currency."""
    if body.get("currency"):
        rows = [{**r, "currency": body["currency"]} for r in rows]
    return to_csv(rows)


def answer(body: dict[str, Any], rows: list[dict[str, Any]], fmt: str) -> Any:
    """The report as JSON, or its rows as CSV."""
    if fmt == "json":
        return body
    return Response(csv_of(body, rows), media_type="text/csv; charset=utf-8")


def plan_rows(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The plan's CSV rows: each stage, how many it needs in all and per month."""
    return [
        {"stage": k, "needed": n, "per_month": body["per_month"][k]}
        for k, n in body["needed"].items()
    ]


def as_json_or_csv(body: dict[str, Any], rows: list[dict[str, Any]]) -> dict[int | str, Any]:
    """A report's documented 200, shown by example: the body as JSON, its rows as CSV."""
    return {
        200: {
            "description": "the report",
            "content": {
                "application/json": {"example": body},
                "text/csv": {"schema": {"type": "string"}, "example": csv_of(body, rows)},
            },
        }
    }


@router.get(
    "/reports/funnel",
    dependencies=[READ],
    responses=as_json_or_csv(examples.FUNNEL, examples.FUNNEL["groups"]),
    summary="Counts per stage, conversion, "
    "median days in stage; by source, campaign or monthly cohort",
)
async def get_funnel_report(
    request: Request,
    p: PeriodDep,
    f: FiltersDep,
    group_by: GroupBy = "all",
    format: Format = "json",
) -> Any:
    async with request.app.state.engine.connect() as conn:
        body = await queries.funnel(conn, p, f, group_by)
    return answer(body, body["groups"], format)


@router.get(
    "/reports/lead-quality",
    dependencies=[READ],
    responses=as_json_or_csv(examples.LEAD_QUALITY, examples.LEAD_QUALITY["groups"]),
    summary="Acceptance and rejection by source or campaign, with rejection reasons",
)
async def get_lead_quality_report(
    request: Request,
    p: PeriodDep,
    f: FiltersDep,
    group_by: GroupBy = "source",
    format: Format = "json",
) -> Any:
    async with request.app.state.engine.connect() as conn:
        body = await queries.lead_quality(conn, p, f, group_by)
    return answer(body, body["groups"], format)


@router.get(
    "/reports/revenue",
    dependencies=[READ],
    responses=as_json_or_csv(examples.REVENUE, examples.REVENUE["groups"]),
    summary="Won revenue, pipeline, win rate, deal size, attribution, cost and ROI",
)
async def get_revenue_report(
    request: Request,
    p: PeriodDep,
    f: FiltersDep,
    group_by: Literal["source", "campaign"] = "campaign",
    model: Literal["first_touch", "last_touch", "linear"] = "linear",
    format: Format = "json",
) -> Any:
    async with request.app.state.engine.connect() as conn:
        body = await queries.revenue(conn, p, f, group_by, model, request.app.state.exchange)
    return answer(body, body["groups"], format)


@router.get(
    "/reports/sla",
    dependencies=[READ],
    responses=as_json_or_csv(examples.SLA, examples.SLA["sales"]["groups"]),
    summary="The agreement, both sides: MQLs and SQLs against target with pacing (default: "
    "this month); speed to lead per rep or team",
)
async def get_sla_report(
    request: Request,
    p: MonthDep,
    f: FiltersDep,
    by: Literal["rep_id", "team"] = "rep_id",
    format: Format = "json",
) -> Any:
    async with request.app.state.engine.connect() as conn:
        body = await queries.sla(conn, p, f, by)
    return answer(body, body["sales"]["groups"], format)


@router.get(
    "/reports/score-calibration",
    dependencies=[READ],
    responses=as_json_or_csv(examples.SCORE_CALIBRATION, examples.SCORE_CALIBRATION["matrix"]),
    summary="Win rate and revenue by fit grade and interest band, and by score threshold",
)
async def get_score_calibration_report(
    request: Request,
    p: PeriodDep,
    f: FiltersDep,
    threshold: Annotated[list[float] | None, Query(description="score cuts to compare")] = None,
    format: Format = "json",
) -> Any:
    async with request.app.state.engine.connect() as conn:
        body = await queries.score_calibration(
            conn, p, f, threshold or [], request.app.state.exchange
        )
    return answer(body, body["matrix"], format)


@router.get(
    "/reports/plan",
    dependencies=[READ],
    responses=as_json_or_csv(examples.PLAN, plan_rows(examples.PLAN)),
    summary="Work back from a revenue goal to customers, opportunities, SQLs, MQLs, leads",
)
async def get_plan_report(
    request: Request,
    revenue_goal: Annotated[Decimal, Query(gt=0)],
    period: Annotated[int, Query(ge=1, le=36, description="months")] = 12,
    format: Format = "json",
) -> Any:
    async with request.app.state.engine.connect() as conn:
        try:
            body = await queries.plan(conn, revenue_goal, period, request.app.state.exchange)
        except ValueError as exc:
            raise Problem(
                422, f"not enough history to plan: {exc}", kind="insufficient-data"
            ) from exc
    return answer(body, plan_rows(body), format)


@router.get(
    "/leads/{lead_id}/journey",
    dependencies=[READ],
    summary="Every event of one lead, in order, in words",
    responses={
        200: {"content": {"application/json": {"example": examples.JOURNEY}}},
        404: {"description": "no journey for this lead"},
    },
)
async def get_lead_journey(request: Request, lead_id: str) -> dict[str, Any]:
    async with request.app.state.engine.connect() as conn:
        events = await feeds.journey_of(conn, lead_id)
    if not events:
        raise Problem(404, f"no journey for lead {lead_id}", kind="lead-not-found")
    return {"lead_id": lead_id, "events": events}


class CampaignIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [examples.CAMPAIGN_IN]}
    )
    name: str = Field(min_length=1, max_length=200)
    spend: Decimal = Field(ge=0, max_digits=16, decimal_places=2)
    currency: CurrencyCode = "EUR"


@router.put(
    "/campaigns/{campaign_id}",
    dependencies=[Depends(require_scope("admin"))],
    summary="A campaign's cost, for cost per lead, MQL, customer and ROI",
    responses={
        200: {
            "headers": {"ETag": ETAG_HEADER},
            "content": {"application/json": {"example": examples.CAMPAIGN}},
        },
        412: IF_MATCH_FAILED,
    },
)
async def upsert_campaign(
    request: Request, response: Response, campaign_id: str, body: CampaignIn
) -> dict[str, Any]:
    """Set the campaign's cost; with If-Match, only if it is still the version the client read."""
    campaign = Campaign(campaign_id=campaign_id, **body.model_dump(), updated_at=datetime.now(UTC))

    async def set_if_matched(uow: SqlUnitOfWork) -> Campaign:
        current = await uow.repo.campaign(campaign_id)
        require_match(request, None if current is None else etag_of(campaign_view(current)))
        return await handlers.set_campaign_spend(uow, SetCampaignSpend(campaign))

    transactions: Transactions[SqlUnitOfWork] = request.app.state.transactions
    view = campaign_view(await transactions.run(set_if_matched))
    response.headers["ETag"] = etag_of(view)
    return view


def campaign_view(campaign: Campaign) -> dict[str, Any]:
    """The API's view of a campaign (the PUT's answer, whose hash is its ETag)."""
    return {**vars(campaign), "spend": float(campaign.spend)}
