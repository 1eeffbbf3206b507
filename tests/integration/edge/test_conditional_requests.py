"""Conditional requests (issue #14, item 11): the agreement's ETag is its checksum and a matching
If-None-Match is a 304; writes to reps, accounts and campaigns honour If-Match (412 otherwise),
one at a time; a rep and an account are read with their ETag (304 when unchanged)."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from leadloop_platform.settings import CommonSettings
from tests.waiting import wait_for

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


async def check_conditional_get(http: httpx.AsyncClient, url: str, body: dict[str, Any]) -> None:
    """A GET answers what the PUT answered, with its ETag; a matching If-None-Match is a 304."""
    assert_problem(await http.get(url, headers=AUTH), 404)
    put = await http.put(url, json=body, headers=AUTH)
    read = await http.get(url, headers=AUTH)
    assert read.status_code == 200, read.text
    assert read.json() == put.json() and read.headers["etag"] == put.headers["etag"]
    again = await http.get(url, headers=AUTH | {"if-none-match": read.headers["etag"]})
    assert again.status_code == 304 and again.content == b""
    assert again.headers["etag"] == read.headers["etag"]
    stale = await http.get(url, headers=AUTH | {"if-none-match": '"stale"'})
    assert stale.status_code == 200 and stale.json() == put.json()


async def test_reps_and_accounts_are_read_with_their_etag(settings: CommonSettings) -> None:
    app = build_app("routing", settings, run_workers=False)
    async with running(app, "http://routing") as http:
        await check_conditional_get(http, "/v1/reps/rep-alice", REP)
        await check_conditional_get(http, "/v1/accounts/acme-dental.com", ACCOUNT)
        upper = await http.get("/v1/accounts/ACME-DENTAL.com", headers=AUTH)
        assert upper.json()["domain"] == "acme-dental.com"
    for path in ("/v1/reps/{rep_id}", "/v1/accounts/{domain}"):
        responses = app.openapi()["paths"][path]["get"]["responses"]
        assert {"200", "304", "404"} <= set(responses)
        assert "ETag" in responses["304"]["headers"]


async def waiting_for_locks(engine: AsyncEngine) -> int:
    """How many sessions wait for a lock another holds."""
    async with engine.connect() as conn:
        query = "SELECT count(*) FROM pg_locks WHERE NOT granted"
        return int((await conn.execute(sa.text(query))).scalar_one())


async def test_two_writes_with_the_same_if_match_cannot_both_pass(
    settings: CommonSettings, engine: AsyncEngine
) -> None:
    app = build_app("routing", settings, run_workers=False)
    async with running(app, "http://routing") as http:
        for url, table, key, body, field in (
            ("/v1/reps/rep-alice", "reps", "rep_id", REP, "name"),
            ("/v1/accounts/acme-dental.com", "accounts", "domain", ACCOUNT, "name"),
        ):
            etag = (await http.put(url, json=body, headers=AUTH)).headers["etag"]
            async with engine.connect() as holder, holder.begin():
                # Hold the row so both writes are in flight before either can finish.
                lock = f"SELECT 1 FROM routing.{table} WHERE {key} = :id FOR UPDATE"
                await holder.execute(sa.text(lock), {"id": url.rsplit("/", 1)[1]})
                writes = [
                    asyncio.create_task(
                        http.put(url, json=body | {field: name}, headers=AUTH | {"if-match": etag})
                    )
                    for name in ("Writer One", "Writer Two")
                ]
                await wait_for(
                    lambda: has_waiters(engine, 2), what="both writes waiting on the row"
                )
            answers = await asyncio.gather(*writes)
            assert sorted(a.status_code for a in answers) == [200, 412], [a.text for a in answers]
            [won] = [a for a in answers if a.status_code == 200]
            assert (await http.get(url, headers=AUTH)).json()[field] == won.json()[field]


async def has_waiters(engine: AsyncEngine, n: int) -> bool:
    """Whether `n` sessions wait for a lock."""
    return await waiting_for_locks(engine) >= n
