"""Every route of every service refuses a missing key, an unknown key, and a key without the
route's scope (401, 401, 403, problem+json); a write refuses the dashboard's session cookie. The
routes come from the apps themselves, so a new endpoint is covered (or must be declared public
below, with the reason) without touching this file."""

from __future__ import annotations

import re
from dataclasses import dataclass

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from sqlalchemy.ext.asyncio import AsyncEngine

from leadloop_platform.auth.guard import SESSION_COOKIE, route_scope
from leadloop_platform.auth.keys import SCOPES, create_key
from leadloop_platform.settings import CommonSettings

from .conftest import KEY, SERVICES, assert_problem, build_app, running

PUBLIC = {
    "/healthz": "liveness probe: says only that the process runs",
    "/readyz": "readiness probe for the orchestrator: which dependency fails, no data",
    "/metrics": "Prometheus scrapes without a key (keep the port internal); counts, no people",
    "/openapi.json": "the API's own description",
    "/docs": "the API's own description, for people",
    "/redoc": "the API's own description, for people",
    "/dashboard": "the sign-in page unless the caller holds reports:read (tested below)",
    "/dashboard/session": "the sign-in form's post: the key travels in the form",
    "/dashboard/sign-out": "only clears the session cookie",
    "/dashboard/times.js": "the dashboard's script showing times in the viewer's zone; no data",
    "/v1/webhooks/hubspot": "HubSpot signs it (X-HubSpot-Signature-v3): test_signatures.py",
    "/v1/integrations/slack/interactions": "Slack signs it (v0): feedback/test_slack_clicks.py",
    "/v1/integrations/hubspot/events": "HubSpot signs it (v3): intake/test_hubspot_events.py",
    "/v1/integrations/salesforce/outbound-messages": "only the configured org's messages are "
    "taken (OrganizationId, 401 otherwise; Salesforce sends no key): "
    "feedback/test_salesforce_messages.py",
}
# Fewer background loops: only the HTTP edge is under test here. (Consumers stay: one built
# and never started is reported unclosed.)
QUIET = {
    "intake": {"run_relay": False},
    "scoring": {"run_relay": False, "run_scheduler": False},
    "routing": {"run_relay": False, "run_workers": False},
    "feedback": {"run_relay": False},
}


@dataclass(frozen=True)
class Guarded:
    method: str
    path: str
    scope: str

    async def call(self, http: httpx.AsyncClient, **headers: str) -> httpx.Response:
        """The route with every path parameter filled in (the guard answers before any lookup)
        and, for writes, an empty JSON body."""
        url = re.sub(r"\{[^}]+\}", "edge-check", self.path)
        body = {} if self.method in ("POST", "PUT", "PATCH") else None
        return await http.request(self.method, url, json=body, headers=headers)


def guarded_routes(app: FastAPI) -> list[Guarded]:
    """Every method and path of the app with the scope it needs; fails on an unguarded route
    that is not declared public."""
    guarded, unguarded = [], []
    for route in iter_route_contexts(app.routes):
        path = str(route.path_format)
        scope = route_scope(route) if isinstance(route.original_route, APIRoute) else None
        for method in sorted((route.methods or set()) - {"HEAD"}):
            if scope is not None:
                guarded.append(Guarded(method, path, scope))
            elif path not in PUBLIC:
                unguarded.append(f"{method} {path}")
    assert not unguarded, f"routes with no scope guard that are not declared public: {unguarded}"
    return guarded


def test_every_public_route_exists(settings: CommonSettings) -> None:
    """The public list names only routes that exist, so it cannot hide a stale exception."""
    paths = {
        str(route.path_format)
        for service in SERVICES
        for route in iter_route_contexts(build_app(service, settings).routes)
    }
    assert set(PUBLIC) <= paths, set(PUBLIC) - paths


@pytest.mark.parametrize("service", SERVICES)
async def test_every_route_refuses_a_missing_unknown_or_underscoped_key(
    service: str, settings: CommonSettings, engine: AsyncEngine
) -> None:
    app = build_app(service, settings, **QUIET[service])
    routes = guarded_routes(app)
    assert routes, f"{service} has no guarded route at all"
    # One key per scope, holding every other scope except admin (which may do everything).
    without: dict[str, str] = {}
    for scope in SCOPES:
        others = [s for s in SCOPES if s not in (scope, "admin")]
        without[scope] = (await create_key(engine, f"all-but-{scope}", others))[1]
    unknown = "llk_000000000000_this-key-was-never-issued-000000"
    async with running(app, f"http://{service}") as http:
        for route in routes:
            missing = await route.call(http)
            assert_problem(missing, 401)
            assert missing.headers["www-authenticate"].startswith("Bearer")
            assert_problem(await route.call(http, authorization=f"Bearer {unknown}"), 401)
            assert_problem(await route.call(http, authorization="Basic dXNlcjpwYXNz"), 401)
            short = await route.call(http, authorization=f"Bearer {without[route.scope]}")
            assert route.scope in assert_problem(short, 403)["detail"], route
            if route.method != "GET":
                # The dashboard's cookie holds a key, but a browser must never write with it.
                assert_problem(await route.call(http, cookie=f"{SESSION_COOKIE}={KEY}"), 401)
            # The guard is not a wall: the right scope gets past it.
            allowed = await route.call(http, authorization=f"Bearer {KEY}")
            assert allowed.status_code not in (401, 403), (route, allowed.text)


async def test_the_dashboard_shows_the_sign_in_page_not_the_data(
    settings: CommonSettings, engine: AsyncEngine
) -> None:
    _, writer = await create_key(engine, "crm-bridge", ["crm:write", "intake:write"])
    app = build_app("feedback", settings, **QUIET["feedback"])
    async with running(app, "http://feedback") as http:
        for headers in ({}, {"authorization": f"Bearer {writer}"}):
            page = await http.get("/dashboard", headers=headers)
            assert page.status_code == 401
            assert 'action="/dashboard/session"' in page.text
            assert "Latest hand-offs" not in page.text
        refused = await http.post(
            "/dashboard/session", data={"api_key": writer}, follow_redirects=False
        )
        assert refused.status_code == 401 and SESSION_COOKIE not in refused.cookies
