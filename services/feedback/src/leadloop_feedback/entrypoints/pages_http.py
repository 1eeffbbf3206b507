"""Pages for people: the live dashboard both teams keep open, and the generated agenda of the
weekly and monthly sales and marketing review (HTML or Markdown)."""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from datetime import UTC, datetime
from typing import Annotated, Any, Literal
from urllib.parse import parse_qs

import jinja2
from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from markupsafe import Markup
from sqlalchemy.ext.asyncio import AsyncConnection

from leadloop_events.instant import Instant
from leadloop_feedback import queries
from leadloop_feedback.domain import reviews, svg
from leadloop_feedback.domain.money import Exchange
from leadloop_platform.auth.guard import SESSION_COOKIE, require_scope, resolve, start_session
from leadloop_platform.auth.sessions import SESSION_SECONDS
from leadloop_platform.http.problems import Problem

router = APIRouter(tags=["pages"])
READ = Depends(require_scope("reports:read"))
TEMPLATES = jinja2.Environment(
    loader=jinja2.PackageLoader("leadloop_feedback", "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
)
PANELS = TEMPLATES.get_template("panels.html")
WIDE = frozenset({"kpis"})
REFRESH_MS = 3000
CACHE_SECONDS = 2.0


STAGES = ("lead", "mql", "sql", "accepted", "opportunity", "customer")
_minutes = reviews.minutes


def _render(macro: str, **values: Any) -> str:
    """One panel: a macro of panels.html; values wrapped in Markup are trusted SVG."""
    module: Any = PANELS.module
    return str(getattr(module, macro)(values))


def _funnel_panel(everything: dict[str, Any], days: int) -> tuple[str, dict[str, int]]:
    groups = everything["groups"]
    found = groups[0]["counts"] if groups else {}
    counts = {s: int(found.get(s, 0)) for s in STAGES}
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
        f"{mql['delivered']} of {mql.get('target') or 'no target'}",
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
            mql_line=mql.get("summary") or f"{mql['delivered']} MQLs delivered",
            sales_line=sales_line,
        ),
        "speed": _render(
            "speed",
            limit=_minutes(sla["sales"]["first_touch_minutes"]),
            svg=Markup(svg.columns(bands, svg.SALES, "speed", "Speed-to-lead distribution")),
        ),
    }


def _grouped_panel(
    title: str, funnel: dict[str, Any], revenue: dict[str, Any], key: str, days: int
) -> str:
    """MQLs, won revenue and pipeline per source or campaign (the eight largest)."""
    mqls = [(g["group"], g["counts"]["mql"], 0.0) for g in funnel["groups"]]
    money = [(g["group"], g["won_revenue"], g["pipeline"]) for g in revenue["groups"]]
    mqls.sort(key=lambda t: -t[1])
    money.sort(key=lambda t: -(t[1] + t[2]))
    return _render(
        "by_group",
        title=title,
        days=days,
        mql_svg=Markup(svg.bars(mqls[:8], f"mql.{key}", f"MQLs by {key}")),
        revenue_svg=Markup(
            svg.bars(money[:8], f"won.{key}", f"Revenue by {key}", colours=(svg.GOOD, "#bfe3cd"))
        ),
    )


async def panels(conn: AsyncConnection, days: int, exchange: Exchange) -> dict[str, str]:
    """Every panel of the dashboard as HTML (SVG inside), from the same queries as the API:
    the funnel and the groups over the last `days`, the agreement over this month."""
    p = queries.last_days(days)
    none = queries.NO_FILTERS
    everything = await queries.funnel(conn, p, none, "all")
    revenue_source = await queries.revenue(conn, p, none, "source", "linear", exchange)
    sla = await queries.sla(conn, queries.month_of(datetime.now(UTC)), none, "rep_id")
    funnel_panel, counts = _funnel_panel(everything, days)
    # every lead has one source, so the totals over sources count each deal once
    kpis = _render(
        "kpis",
        days=days,
        counts=counts,
        won=sum(g["won_revenue"] for g in revenue_source["groups"]),
        pipeline=sum(g["pipeline"] for g in revenue_source["groups"]),
        currency=revenue_source["currency"],
        unconverted=revenue_source["unconverted"],
        p50=_minutes((sla["sales"]["overall"] or {}).get("p50_minutes")),
    )
    return {
        "kpis": kpis,
        "funnel": funnel_panel,
        **_sla_panels(sla),
        "sources": _grouped_panel(
            "By source",
            await queries.funnel(conn, p, none, "source"),
            revenue_source,
            "source",
            days,
        ),
        "campaigns": _grouped_panel(
            "By campaign",
            await queries.funnel(conn, p, none, "campaign"),
            await queries.revenue(conn, p, none, "campaign", "linear", exchange),
            "campaign",
            days,
        ),
        "handoffs": _render(
            "feed",
            title="Latest hand-offs",
            rows=await queries.latest(conn, queries.HANDOFF_TYPES, 10),
            empty="No lead handed to sales yet.",
        ),
        "breaches": _render(
            "feed",
            title="Latest SLA breaches",
            rows=await queries.latest(conn, queries.BREACH_TYPES, 10),
            empty="No breach: every hand-off was touched in time.",
        ),
    }


async def cached_panels(request: Request, days: int) -> tuple[dict[str, str], str]:
    """Panels and their ETag, computed at most once per CACHE_SECONDS for every viewer."""
    cache: dict[int, tuple[float, dict[str, str], str]] = request.app.state.__dict__.setdefault(
        "dashboard_cache", {}
    )
    hit = cache.get(days)
    if hit is not None and time.monotonic() - hit[0] < CACHE_SECONDS:
        return hit[1], hit[2]
    async with request.app.state.engine.connect() as conn:
        found = await panels(conn, days, request.app.state.exchange)
    etag = '"' + hashlib.sha256(json.dumps(found, sort_keys=True).encode()).hexdigest()[:20] + '"'
    cache[days] = (time.monotonic(), found, etag)
    return found, etag


SIGN_IN_PAGE: dict[str, Any] = {
    "description": "no key, or one without reports:read: the sign-in page",
    "content": {"text/html": {"schema": {"type": "string"}}},
}
Days = Annotated[int, Query(ge=1, le=366, description="the period shown: the last N days")]


def _signin(request: Request, status: int, error: str | None = None) -> HTMLResponse:
    page = TEMPLATES.get_template("signin.html").render(
        action="/dashboard/session", next=str(request.url.path), error=error
    )
    return HTMLResponse(page, status_code=status)


async def _reader(request: Request) -> bool:
    """Whether the caller (bearer key or session cookie) may read reports."""
    try:
        await require_scope("reports:read")(request)
    except Problem as exc:
        if exc.status in (401, 403):
            return False
        raise
    return True


@router.get(
    "/dashboard",
    response_class=HTMLResponse,
    summary="The live dashboard",
    responses={401: SIGN_IN_PAGE},
)
async def dashboard(request: Request, days: Days = 30) -> HTMLResponse:
    if not await _reader(request):
        return _signin(request, 401)
    found, etag = await cached_panels(request, days)
    nonce = secrets.token_urlsafe(16)
    page = TEMPLATES.get_template("dashboard.html").render(
        panels={k: Markup(v) for k, v in found.items()},
        wide=WIDE,
        days=days,
        version=etag,
        updated=datetime.now(UTC).strftime("%H:%M:%S UTC"),
        refresh_ms=REFRESH_MS,
        nonce=nonce,
    )
    return HTMLResponse(
        page,
        headers={
            "Content-Security-Policy": "default-src 'none'; img-src 'self' data:; "
            f"style-src 'unsafe-inline'; script-src 'nonce-{nonce}'; connect-src 'self'; "
            "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
            "Cache-Control": "no-store",
        },
    )


@router.get(
    "/dashboard/panels",
    dependencies=[READ],
    summary="The dashboard's panels as HTML fragments; 304 while nothing changed (ETag)",
)
async def dashboard_panels(request: Request, days: Days = 30) -> Response:
    found, etag = await cached_panels(request, days)
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers={"ETag": etag})
    body = {"panels": found, "updated": datetime.now(UTC).strftime("%H:%M:%S UTC")}
    return Response(
        json.dumps(body),
        media_type="application/json",
        headers={"ETag": etag, "Cache-Control": "no-cache"},
    )


@router.post(
    "/dashboard/session",
    response_class=RedirectResponse,
    status_code=303,
    summary="Sign in to the dashboard with an API key (form post); sets an HttpOnly cookie "
    "holding a signed, read-only session (12 h) for the dashboard, reports and reviews",
    responses={303: {"description": "signed in: on to `next`"}, 401: SIGN_IN_PAGE},
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/x-www-form-urlencoded": {
                    "schema": {
                        "type": "object",
                        "properties": {"api_key": {"type": "string"}, "next": {"type": "string"}},
                        "required": ["api_key"],
                    }
                }
            },
        }
    },
)
async def sign_in(request: Request) -> Response:
    form = parse_qs((await request.body()).decode("utf-8", errors="replace"))
    key = (form.get("api_key") or [""])[0].strip()
    principal = await resolve(request.app.state, key) if key else None
    if principal is None or not principal.allows("reports:read"):
        return _signin(request, 401, "That key is unknown, revoked or lacks reports:read.")
    target = (form.get("next") or ["/dashboard"])[0]
    if not target.startswith("/") or target.startswith("//"):
        target = "/dashboard"
    response = RedirectResponse(target, status_code=303)
    # A signed, expiring, read-only session, never the key itself.
    response.set_cookie(
        SESSION_COOKIE,
        await start_session(request.app.state, principal, key),
        max_age=SESSION_SECONDS,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/",
    )
    return response


@router.post(
    "/dashboard/sign-out",
    response_class=RedirectResponse,
    status_code=303,
    summary="Forget the dashboard session cookie",
    responses={303: {"description": "signed out: on to the sign-in page"}},
)
async def sign_out() -> Response:
    response = RedirectResponse("/dashboard", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


async def review(request: Request, kind: str, end: datetime | None) -> reviews.Agenda:
    days = 7 if kind == "weekly" else 30
    now = queries.last_days(days, end or datetime.now(UTC))
    before = now.before()
    none = queries.NO_FILTERS
    snapshots = []
    async with request.app.state.engine.connect() as conn:
        for p in (now, before):
            snapshots.append(
                reviews.Snapshot(
                    funnel=await queries.funnel(conn, p, none, "all"),
                    sla=await queries.sla(conn, p, none, "rep_id"),
                    lead_quality=await queries.lead_quality(conn, p, none, "source"),
                    revenue=await queries.revenue(
                        conn, p, none, "campaign", "linear", request.app.state.exchange
                    ),
                )
            )
        published = await queries.agreements_published(conn, now)
    return reviews.agenda(kind, snapshots[0], snapshots[1], published)


@router.get(
    "/v1/reviews/{kind}",
    dependencies=[READ],
    response_class=HTMLResponse,
    responses={200: {"content": {"text/markdown": {"schema": {"type": "string"}}}}},
    summary="The agenda of the weekly (last 7 days) or monthly (last 30 days) review, compared "
    "with the period before; HTML, or Markdown with format=markdown or Accept: text/markdown",
)
async def get_review(
    request: Request,
    kind: Literal["weekly", "monthly"],
    end: Annotated[Instant | None, Query(description="the period's end; default now")] = None,
    format: Annotated[Literal["html", "markdown"] | None, Query()] = None,
) -> Response:
    agenda = await review(request, kind, end)
    wants = format or (
        "markdown" if "text/markdown" in request.headers.get("accept", "") else "html"
    )
    if wants == "markdown":
        return Response(reviews.to_markdown(agenda), media_type="text/markdown; charset=utf-8")
    return HTMLResponse(TEMPLATES.get_template("review.html").render(agenda=agenda))
