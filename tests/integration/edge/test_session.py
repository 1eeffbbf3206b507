"""The dashboard's cookie holds a signed, expiring, read-only session, never the API key: it
reads the dashboard, reports and reviews, and nothing else (no admin route, no lead's personal
data, no write), even when the key it came from may do everything. A forged, altered, expired
or revoked session is refused; every page for people carries the strict CSP. A revocation
reaches every process at once (NOTIFY), not after the auth cache's 10 s."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from leadloop_platform.auth import sessions
from leadloop_platform.auth.guard import SESSION_COOKIE, session_secret
from leadloop_platform.auth.keys import create_key, hash_key, revoke_key
from leadloop_platform.http.middleware import STRICT_CSP
from leadloop_platform.settings import CommonSettings

from ...waiting import wait_for
from .conftest import KEY, assert_problem, build_app, running

QUIET = {"run_relay": False, "run_consumer": False}
READS = ("/dashboard", "/v1/reports/funnel", "/v1/reviews/weekly")


async def sign_in(http: httpx.AsyncClient, key: str) -> str:
    """Post the sign-in form; the session cookie's value."""
    r = await http.post("/dashboard/session", data={"api_key": key}, follow_redirects=False)
    assert r.status_code == 303, r.text
    cookie = r.cookies[SESSION_COOKIE]
    http.cookies.clear()  # each call below says which cookie it sends
    return str(cookie)


def as_cookie(value: str) -> dict[str, str]:
    return {"cookie": f"{SESSION_COOKIE}={value}"}


async def test_a_session_reads_reports_only_even_for_an_admin_key(
    settings: CommonSettings, engine: AsyncEngine
) -> None:
    feedback = build_app("feedback", settings, **QUIET)
    routing = build_app("routing", settings, run_relay=False, run_workers=False)
    intake = build_app("intake", settings, run_relay=False)
    async with (
        running(feedback, "http://feedback") as http,
        running(routing, "http://routing") as routing_http,
        running(intake, "http://intake") as intake_http,
    ):
        cookie = await sign_in(http, KEY)  # the bootstrap key: every scope, admin included
        assert KEY not in cookie and hash_key(KEY) not in cookie
        for path in READS:
            r = await http.get(path, headers=as_cookie(cookie))
            assert r.status_code == 200, (path, r.text)
        # A lead's journey (no personal data) is linked from the dashboard: past the guard.
        journey = await http.get("/v1/leads/lead-ACME-DENTAL/journey", headers=as_cookie(cookie))
        assert journey.status_code == 404, journey.text
        refused = [
            (intake_http, "/v1/leads/lead-ACME-DENTAL"),  # one person's data
            (routing_http, "/v1/webhook-subscriptions"),  # admin
            (routing_http, "/v1/reps"),  # reports:read, but not a report
        ]
        for client, path in refused:
            body = assert_problem(await client.get(path, headers=as_cookie(cookie)), 401)
            assert "dashboard session" in body["detail"], path
            # The key itself may: the session, not the route, is what is refused.
            allowed = await client.get(path, headers={"authorization": f"Bearer {KEY}"})
            assert allowed.status_code not in (401, 403), (path, allowed.text)
        write = await http.put(
            "/v1/campaigns/webinar-q4", json={"name": "x", "spend": 1}, headers=as_cookie(cookie)
        )
        assert_problem(write, 401)
        # The old cookie held the key itself; a key in the cookie is no session.
        assert_problem(await http.get("/v1/reports/funnel", headers=as_cookie(KEY)), 401)


async def test_forged_altered_and_expired_sessions_are_refused(
    settings: CommonSettings, engine: AsyncEngine
) -> None:
    app = build_app("feedback", settings, **QUIET)
    async with running(app, "http://feedback") as http:
        cookie = await sign_in(http, KEY)
        version, payload, mac = cookie.split(".")
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        claims["e"] += 365 * 86400  # a year more
        longer = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
        secret = await session_secret(app.state)
        now = time.time()
        refused = {
            "altered expiry, old signature": f"{version}.{longer}.{mac}",
            "signature changed": f"{version}.{payload}.{mac[:-2]}AA",
            "signed with another secret": sessions.issue(
                b"x" * 32, "bootstrap", hash_key(KEY), now
            ),
            "expired: signed 13 h ago": sessions.issue(
                secret, "bootstrap", hash_key(KEY), now - 13 * 3600
            ),
            "for another bootstrap key": sessions.issue(
                secret, "bootstrap", hash_key("another-key-0123456789abcdef"), now
            ),
            "not a session": "v1..",
        }
        for case, value in refused.items():
            r = await http.get("/v1/reports/funnel", headers=as_cookie(value))
            assert r.status_code == 401, (case, r.text)
            page = await http.get("/dashboard", headers=as_cookie(value))
            assert page.status_code == 401 and 'name="api_key"' in page.text, case
        ok = await http.get("/v1/reports/funnel", headers=as_cookie(cookie))
        assert ok.status_code == 200, ok.text
    assert sessions.verify(secret, cookie, now + sessions.SESSION_SECONDS + 1) is None


async def test_revoking_the_key_ends_its_sessions_and_reaches_every_process_at_once(
    settings: CommonSettings, engine: AsyncEngine
) -> None:
    key_id, key = await create_key(engine, "marketing-ops", ["reports:read"])
    feedback = build_app("feedback", settings, **QUIET)
    intake = build_app("intake", settings, run_relay=False)  # another process's cache
    async with (
        running(feedback, "http://feedback") as http,
        running(intake, "http://intake") as intake_http,
    ):
        for app in (feedback, intake):
            await wait_for(_listening(app.state), timeout_s=10, what="the LISTEN for revocations")
        cookie = await sign_in(http, key)
        bearer = {"authorization": f"Bearer {key}"}
        assert (await http.get("/v1/reports/funnel", headers=as_cookie(cookie))).status_code == 200
        assert (await http.get("/v1/reports/funnel", headers=bearer)).status_code == 200
        forbidden = await intake_http.get("/v1/leads/x", headers=bearer)
        assert forbidden.status_code == 403  # known (and now cached), lacks the scope
        assert len(intake.state.auth_cache) == 1

        started = time.monotonic()
        assert await revoke_key(engine, key_id)  # as `leadloop api-keys revoke` does

        async def forgotten_everywhere() -> bool:
            return len(intake.state.auth_cache) == 0 and len(feedback.state.auth_cache) == 0

        # Well within the cache's 10 s: the NOTIFY did it, not the expiry.
        await wait_for(forgotten_everywhere, timeout_s=5, what="every cache to drop the key")
        assert time.monotonic() - started < 5
        assert_problem(await intake_http.get("/v1/leads/x", headers=bearer), 401)
        assert_problem(await http.get("/v1/reports/funnel", headers=bearer), 401)
        assert_problem(await http.get("/v1/reports/funnel", headers=as_cookie(cookie)), 401)


def _listening(state: Any) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        return bool(state.revocations_listening.is_set())

    return check


async def test_every_page_for_people_carries_the_strict_csp(
    settings: CommonSettings, engine: AsyncEngine
) -> None:
    app = build_app("feedback", settings, **QUIET)
    async with running(app, "http://feedback") as http:
        sign_in_page = await http.get("/dashboard")
        assert sign_in_page.status_code == 401
        refused = await http.post("/dashboard/session", data={"api_key": "llk_wrong"})
        review = await http.get("/v1/reviews/weekly", headers={"authorization": f"Bearer {KEY}"})
        assert review.status_code == 200 and review.headers["content-type"].startswith("text/html")
        for page in (sign_in_page, refused, review):
            assert page.headers["content-security-policy"] == STRICT_CSP, page.request.url
            assert page.headers["x-content-type-options"] == "nosniff"
        cookie = await sign_in(http, KEY)
        dashboard = await http.get("/dashboard", headers=as_cookie(cookie))
        # The dashboard keeps its own policy (it adds a nonce'd script), not a second one.
        policy = dashboard.headers.get_list("content-security-policy")
        assert len(policy) == 1 and "script-src 'nonce-" in policy[0]
