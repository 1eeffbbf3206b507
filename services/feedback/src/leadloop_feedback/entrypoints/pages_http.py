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

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from markupsafe import Markup
from pydantic import AfterValidator

from leadloop_events.instant import Instant
from leadloop_feedback.adapters import feeds, queries
from leadloop_feedback.domain import reviews
from leadloop_feedback.domain.period import NO_FILTERS, last_days
from leadloop_feedback.entrypoints import examples, panels, times
from leadloop_feedback.entrypoints.panels import TEMPLATES
from leadloop_platform.auth.guard import SESSION_COOKIE, require_scope, resolve, start_session
from leadloop_platform.auth.sessions import SESSION_SECONDS
from leadloop_platform.http.problems import Problem

router = APIRouter(tags=["pages"])
READ = Depends(require_scope("reports:read"))
WIDE = frozenset({"kpis"})
REFRESH_MS = 3000
CACHE_SECONDS = 2.0


async def cached_panels(request: Request, days: int) -> tuple[dict[str, str], str]:
    """Panels and their ETag, computed at most once per CACHE_SECONDS for every viewer."""
    cache: dict[int, tuple[float, dict[str, str], str]] = request.app.state.__dict__.setdefault(
        "dashboard_cache", {}
    )
    hit = cache.get(days)
    if hit is not None and time.monotonic() - hit[0] < CACHE_SECONDS:
        return hit[1], hit[2]
    async with request.app.state.engine.connect() as conn:
        found = await panels.panels(conn, days, request.app.state.exchange)
    etag = '"' + hashlib.sha256(json.dumps(found, sort_keys=True).encode()).hexdigest()[:20] + '"'
    cache[days] = (time.monotonic(), found, etag)
    return found, etag


SIGN_IN_PAGE: dict[str, Any] = {
    "description": "no key, or one without reports:read: the sign-in page",
    "content": {"text/html": {"schema": {"type": "string"}}},
}
Days = Annotated[int, Query(ge=1, le=366, description="the period shown: the last N days")]
Zone = Annotated[
    str | None,
    Query(
        max_length=64,
        description="show times in this IANA time zone (a shared screen), not the browser's",
        examples=["Europe/Oslo"],
    ),
    AfterValidator(times.known_zone),
]


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
    responses={
        200: {"content": {"text/html": {"example": examples.DASHBOARD}}},
        401: SIGN_IN_PAGE,
    },
)
async def get_dashboard(request: Request, days: Days = 30, tz: Zone = None) -> HTMLResponse:
    if not await _reader(request):
        return _signin(request, 401)
    found, etag = await cached_panels(request, days)
    nonce = secrets.token_urlsafe(16)
    page = TEMPLATES.get_template("dashboard.html").render(
        panels={k: Markup(v) for k, v in found.items()},
        wide=WIDE,
        days=days,
        version=etag,
        **updated(datetime.now(UTC)),
        refresh_ms=REFRESH_MS,
        nonce=nonce,
        tz=tz,
        times_script=times.SCRIPT_URL,
    )
    return HTMLResponse(
        page,
        headers={
            "Content-Security-Policy": "default-src 'none'; img-src 'self' data:; "
            f"style-src 'unsafe-inline'; script-src 'nonce-{nonce}' 'self'; connect-src 'self'; "
            "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
            "Cache-Control": "no-store",
        },
    )


@router.get(
    "/dashboard/panels",
    dependencies=[READ],
    summary="The dashboard's panels as HTML fragments; 304 while nothing changed (ETag)",
    responses={200: {"content": {"application/json": {"example": examples.PANELS}}}},
)
async def get_dashboard_panels(request: Request, days: Days = 30) -> Response:
    found, etag = await cached_panels(request, days)
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers={"ETag": etag})
    body = {"panels": found, **updated(datetime.now(UTC))}
    return Response(
        json.dumps(body),
        media_type="application/json",
        headers={"ETag": etag, "Cache-Control": "no-cache"},
    )


def updated(now: datetime) -> dict[str, str]:
    """When the panels were read: the UTC text a page without script shows, and the instant."""
    return {"updated": now.strftime(times.FALLBACK["time"]), "updated_at": times.iso(now)}


@router.get(times.SCRIPT_PATH, include_in_schema=False)
async def get_times_script() -> Response:
    """The dashboard's script that shows its times in the viewer's zone (no data in it)."""
    return Response(
        times.SCRIPT,
        media_type="text/javascript; charset=utf-8",
        headers={"Cache-Control": "public, max-age=86400"},
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
                    },
                    "example": {"api_key": "llk_read_only_key_for_the_team", "next": "/dashboard"},
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


def by_name(sla: dict[str, Any], names: dict[str, str]) -> dict[str, Any]:
    """The SLA report with each rep's group shown by the rep's name (the id without one)."""
    groups = [
        {**g, "group": names.get(str(g["group"]), g["group"])} for g in sla["sales"]["groups"]
    ]
    return {**sla, "sales": {**sla["sales"], "groups": groups}}


async def review(request: Request, kind: str, end: datetime | None) -> reviews.Agenda:
    days = 7 if kind == "weekly" else 30
    now = last_days(days, end or datetime.now(UTC))
    before = now.before()
    none = NO_FILTERS
    snapshots = []
    async with request.app.state.engine.connect() as conn:
        names = await feeds.rep_names(conn)
        for p in (now, before):
            snapshots.append(
                reviews.Snapshot(
                    funnel=await queries.funnel(conn, p, none, "all"),
                    sla=by_name(await queries.sla(conn, p, none, "rep_id"), names),
                    lead_quality=await queries.lead_quality(conn, p, none, "source"),
                    revenue=await queries.revenue(
                        conn, p, none, "campaign", "linear", request.app.state.exchange
                    ),
                )
            )
        published = await feeds.agreements_published(conn, now)
    return reviews.agenda(kind, snapshots[0], snapshots[1], published)


@router.get(
    "/v1/reviews/{kind}",
    dependencies=[READ],
    response_class=HTMLResponse,
    responses={
        200: {
            "content": {
                "text/html": {"example": examples.REVIEW_HTML},
                "text/markdown": {
                    "schema": {"type": "string"},
                    "example": examples.REVIEW_MARKDOWN,
                },
            }
        }
    },
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
