"""Conditional requests (issue #14, item 11): the agreement's ETag is its checksum and a matching
If-None-Match is a 304; writes to reps, accounts and campaigns honour If-Match (412 otherwise)."""

from __future__ import annotations

from typing import Any

import httpx

from leadloop_platform.settings import CommonSettings

from .conftest import AUTH, assert_problem, build_app, running

REP = {"name": "Alice", "email": "rep-alice@northwind.example", "teams": ["dach"]}
ACCOUNT = {"name": "Acme Dental", "owner_rep_id": "rep-alice"}
CAMPAIGN = {"name": "Webinar Q4", "spend": "1200.50", "currency": "EUR"}


async def test_the_agreement_is_not_sent_again_when_unchanged(settings: CommonSettings) -> None:
    app = build_app("scoring", settings)
    async with running(app, "http://scoring") as http:
        r = await http.get("/v1/agreement", headers=AUTH)
        assert r.status_code == 200, r.text
        etag = r.headers["etag"]
        assert etag == f'"{r.json()["checksum"]}"'
        again = await http.get("/v1/agreement", headers=AUTH | {"if-none-match": etag})
        assert again.status_code == 304, again.text
        assert again.content == b"" and again.headers["etag"] == etag
        listed = await http.get(
            "/v1/agreement?format=yaml", headers=AUTH | {"if-none-match": f'"x", W/{etag}'}
        )
        assert listed.status_code == 304
        other = await http.get("/v1/agreement", headers=AUTH | {"if-none-match": '"stale"'})
        assert other.status_code == 200 and other.json() == r.json()
    operation = app.openapi()["paths"]["/v1/agreement"]["get"]
    assert "ETag" in operation["responses"]["304"]["headers"]
    assert "ETag" in operation["responses"]["200"]["headers"]


async def check_if_match(
    http: httpx.AsyncClient, url: str, body: dict[str, Any], change: dict[str, Any]
) -> None:
    """If-Match on a PUT: 412 when nothing exists or the tag is stale, taken when current."""
    missing = await http.put(url, json=body, headers=AUTH | {"if-match": '"anything"'})
    assert_problem(missing, 412)
    first = await http.put(url, json=body, headers=AUTH)  # no If-Match: as before
    assert first.status_code == 200, first.text
    etag = first.headers["etag"]
    matched = await http.put(url, json=body | change, headers=AUTH | {"if-match": etag})
    assert matched.status_code == 200, matched.text
    assert matched.headers["etag"] != etag
    stale = await http.put(url, json=body, headers=AUTH | {"if-match": etag})
    assert matched.headers["etag"] in assert_problem(stale, 412)["detail"]
    again = await http.put(
        url, json=body, headers=AUTH | {"if-match": f'"x", {matched.headers["etag"]}'}
    )
    assert again.status_code == 200  # the stale write changed nothing, again.text


async def test_reps_and_accounts_honour_if_match(settings: CommonSettings) -> None:
    app = build_app("routing", settings, run_workers=False)
    async with running(app, "http://routing") as http:
        await check_if_match(http, "/v1/reps/rep-alice", REP, {"name": "Alice B."})
        await check_if_match(http, "/v1/accounts/acme-dental.com", ACCOUNT, {"name": "Acme"})
    for path in ("/v1/reps/{rep_id}", "/v1/accounts/{domain}"):
        responses = app.openapi()["paths"][path]["put"]["responses"]
        assert "412" in responses and "ETag" in responses["200"]["headers"]


async def test_campaigns_honour_if_match(settings: CommonSettings) -> None:
    app = build_app("feedback", settings, run_relay=False)
    async with running(app, "http://feedback") as http:
        await check_if_match(http, "/v1/campaigns/webinar-q4", CAMPAIGN, {"spend": "1300"})
    responses = app.openapi()["paths"]["/v1/campaigns/{campaign_id}"]["put"]["responses"]
    assert "412" in responses and "ETag" in responses["200"]["headers"]
