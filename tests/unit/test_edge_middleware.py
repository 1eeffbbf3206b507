"""The edge middleware's one pass: correlation ids shaped as UUIDs, metrics counted per request."""

from __future__ import annotations

import uuid

import httpx
from fastapi import APIRouter
from prometheus_client import REGISTRY
from sqlalchemy.ext.asyncio import create_async_engine

from leadloop_platform.http.app import create_app
from leadloop_platform.http.middleware import new_correlation_id
from leadloop_platform.settings import CommonSettings

router = APIRouter()


@router.get("/v1/things/{thing_id}")
async def read_thing(thing_id: str) -> dict[str, str]:
    return {"id": thing_id}


def test_new_correlation_ids_are_random_version_4_uuids() -> None:
    ids = {new_correlation_id() for _ in range(200)}
    assert len(ids) == 200
    for cid in ids:
        parsed = uuid.UUID(cid)
        assert str(parsed) == cid
        assert parsed.version == 4
        assert parsed.variant == uuid.RFC_4122


async def test_every_request_is_counted_by_route_template() -> None:
    settings = CommonSettings(service_name="edge-unit")
    engine = create_async_engine("postgresql+asyncpg://nobody@127.0.0.1:1/none")
    app = create_app(
        title="edge", settings=settings, engine=engine, routers=[router], ready_checks={}
    )
    labels = {"service": "edge-unit", "method": "GET", "route": "/v1/things/{thing_id}"}
    before = REGISTRY.get_sample_value("leadloop_http_requests_total", {**labels, "status": "200"})
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://edge") as client:
        for thing in ("a", "b", "c"):
            r = await client.get(f"/v1/things/{thing}", headers={"x-correlation-id": "cid-1"})
            assert r.headers["x-correlation-id"] == "cid-1"
    after = REGISTRY.get_sample_value("leadloop_http_requests_total", {**labels, "status": "200"})
    assert after == (before or 0) + 3
    timed = REGISTRY.get_sample_value("leadloop_http_request_duration_seconds_count", labels)
    assert timed is not None and timed >= 3
