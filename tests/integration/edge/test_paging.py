"""List endpoints page (issue #14, item 11): following `next` from `limit=2` visits every item
exactly once, the Link header names the next page until the last one, whose `next` is null, and a
filter carries into every next link; on the real services and their database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from leadloop_platform.settings import CommonSettings
from leadloop_routing.adapters.repository import SqlRepository
from leadloop_routing.domain.delivery import Delivery, Subscription
from tests.factories import AGREEMENT_VERSION

from .conftest import AUTH, assert_problem, build_app, running

REPS = [f"rep-{name}" for name in ("alice", "bob", "carol", "dan", "erin")]
T0 = datetime(2026, 11, 4, 9, 0, tzinfo=UTC)


async def walk(http: httpx.AsyncClient, url: str) -> list[dict[str, Any]]:
    """Every page from `url` on, following `next`; checks each page's Link header."""
    pages: list[dict[str, Any]] = []
    next_url: str | None = url
    while next_url is not None:
        assert len(pages) < 10, "the pages never end"
        r = await http.get(next_url, headers=AUTH)
        assert r.status_code == 200, r.text
        page = r.json()
        assert set(page) == {"items", "next"}
        next_url = page["next"]
        if next_url is None:
            assert "link" not in r.headers
        else:
            assert r.headers["link"] == f'<{next_url}>; rel="next"'
            assert "limit=2" in next_url and len(page["items"]) == 2
        pages.append(page)
    return pages


def items(pages: list[dict[str, Any]], field: str) -> list[Any]:
    """The `field` of every item of every page, in order."""
    return [item[field] for page in pages for item in page["items"]]


async def test_reps_page_by_id(settings: CommonSettings) -> None:
    app = build_app("routing", settings, run_workers=False)
    async with running(app, "http://routing") as http:
        for rep_id in reversed(REPS):
            body = {"name": rep_id, "email": f"{rep_id}@northwind.example", "teams": ["dach"]}
            r = await http.put(f"/v1/reps/{rep_id}", json=body, headers=AUTH)
            assert r.status_code == 200, r.text
        pages = await walk(http, "/v1/reps?limit=2")
        assert len(pages) == 3 and items(pages, "rep_id") == REPS
        assert (await http.get("/v1/reps", headers=AUTH)).json()["next"] is None
        assert_problem(await http.get("/v1/reps?limit=501", headers=AUTH), 422)
        bad = await http.get("/v1/reps?cursor=bm90LWEtY3Vyc29y", headers=AUTH)
        assert assert_problem(bad, 422)["errors"][0]["field"] == "query.cursor"
    example = app.openapi()["paths"]["/v1/reps"]["get"]["responses"]["200"]
    assert example["content"]["application/json"]["example"]["items"]
    assert "Link" in example["headers"]


async def test_agreement_versions_page_latest_first(settings: CommonSettings) -> None:
    app = build_app("scoring", settings)
    async with running(app, "http://scoring") as http:
        text = (await http.get("/v1/agreement?format=yaml", headers=AUTH)).text
        newer = ["2026-12", "2027-01", "2027-02", "2027-03"]
        for version in newer:
            body = text.replace(f'version: "{AGREEMENT_VERSION}"', f'version: "{version}"')
            headers = AUTH | {"content-type": "application/yaml"}
            r = await http.post("/v1/agreement", content=body, headers=headers)
            assert r.status_code == 201, r.text
        pages = await walk(http, "/v1/agreement/versions?limit=2")
        assert len(pages) == 3
        assert items(pages, "version") == [*reversed(newer), AGREEMENT_VERSION]
        bad = await http.get("/v1/agreement/versions?cursor=WyJyZXAtYWxpY2UiXQ", headers=AUTH)
        assert assert_problem(bad, 422)["errors"][0]["field"] == "query.cursor"


def delivery(n: int, subscription_id: str, status: str, at: datetime) -> Delivery:
    return Delivery(
        delivery_id=f"00000000-0000-4000-8000-00000000000{n}",
        subscription_id=subscription_id,
        event_id=f"event-{n}",
        event_type="lead.assigned.v1",
        lead_id=f"lead-{n}",
        payload=b"{}",
        status=status,  # type: ignore[arg-type]
        attempts=(),
        next_attempt_at=None,
        created_at=at,
    )


async def seed_deliveries(engine: AsyncEngine) -> list[str]:
    """Three subscriptions; five failed deliveries (two created at the same instant) and two
    that succeeded. The failed ones' ids, newest first."""
    subs = [
        Subscription(
            f"sub-{n}",
            "https://crm.example/hook",
            "s",
            ("lead.assigned.v1",),
            None,
            True,
            T0 + timedelta(minutes=n),
        )
        for n in range(3)
    ]
    failed = [delivery(n, "sub-0", "failed", T0 + timedelta(minutes=min(n, 3))) for n in range(5)]
    succeeded = [delivery(n, "sub-1", "succeeded", T0) for n in range(5, 7)]
    async with engine.begin() as conn:
        repo = SqlRepository(conn)
        for sub in subs:
            await repo.add_subscription(sub)
        for d in failed + succeeded:
            await repo.queue_delivery(d)
    newest_first = sorted(failed, key=lambda d: (d.created_at, d.delivery_id), reverse=True)
    return [d.delivery_id for d in newest_first]


async def test_deliveries_and_subscriptions_page_with_their_filter(
    settings: CommonSettings, engine: AsyncEngine
) -> None:
    failed = await seed_deliveries(engine)
    app = build_app("routing", settings, run_workers=False)
    async with running(app, "http://routing") as http:
        pages = await walk(http, "/v1/webhook-deliveries?status=failed&limit=2")
        assert len(pages) == 3 and items(pages, "delivery_id") == failed
        assert all(page["next"] is None or "status=failed" in page["next"] for page in pages)
        assert set(items(pages, "status")) == {"failed"}
        pages = await walk(http, "/v1/webhook-subscriptions?limit=2")
        assert items(pages, "subscription_id") == ["sub-0", "sub-1", "sub-2"]
        assert len(pages) == 2
