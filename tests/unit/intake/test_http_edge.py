"""The HTTP edge refuses bad input with problem+json before anything touches a database."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from leadloop_intake.bootstrap import create_app
from leadloop_intake.config import Settings

KEY = "unit-test-bootstrap-key-0123456789"


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(
        bootstrap_api_key=KEY,
        database_url="postgresql://nobody@127.0.0.1:1/none",
        max_body_bytes=4096,
        max_activities_bytes=4096,
    )
    app = create_app(settings)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://intake") as c:
        yield c


def assert_problem(response: httpx.Response, status: int) -> dict[str, object]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, object] = response.json()
    assert body["status"] == status
    assert str(body["type"]).startswith("https://leadloop.dev/problems/")
    return body


async def test_missing_key_is_401(client: httpx.AsyncClient) -> None:
    r = await client.post("/v1/form-submissions", json={"email": "ana@acme.com"})
    assert_problem(r, 401)
    assert r.headers["www-authenticate"].startswith("Bearer")


async def test_invalid_fields_are_named(client: httpx.AsyncClient) -> None:
    r = await client.post(
        "/v1/form-submissions",
        json={"email": "ana@", "country": "Narnia"},
        headers={"authorization": f"Bearer {KEY}"},
    )
    body = assert_problem(r, 422)
    fields = {e["field"] for e in body["errors"]}  # type: ignore[attr-defined]
    assert fields == {"email", "country"}


async def test_malformed_json_is_400(client: httpx.AsyncClient) -> None:
    r = await client.post(
        "/v1/form-submissions",
        content=b'{"email": "ana@acme.com"',
        headers={"authorization": f"Bearer {KEY}", "content-type": "application/json"},
    )
    assert_problem(r, 400)


async def test_body_over_the_limit_is_413(client: httpx.AsyncClient) -> None:
    big = {"email": "ana@acme.com", "fields": {"blob": "x" * 10_000}}
    r = await client.post(
        "/v1/form-submissions", json=big, headers={"authorization": f"Bearer {KEY}"}
    )
    assert_problem(r, 413)


async def test_streamed_body_over_the_limit_is_413(client: httpx.AsyncClient) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(10):
            yield b"x" * 1000

    r = await client.post(
        "/v1/activities",
        content=chunks(),
        headers={"authorization": f"Bearer {KEY}", "content-type": "application/json"},
    )
    assert_problem(r, 413)


async def test_activity_batch_over_1000_is_refused(client: httpx.AsyncClient) -> None:
    one = {"email": "a@b.co", "type": "page_view", "occurred_at": "2026-11-01T10:00:00Z"}
    settings_limit_free = {"activities": [one] * 1001}
    app_client = client
    r = await app_client.post(
        "/v1/activities", json=settings_limit_free, headers={"authorization": f"Bearer {KEY}"}
    )
    # The body limit (4 KiB in this test) or the batch limit refuses it; never a 5xx.
    assert r.status_code in (413, 422)


async def test_unknown_activity_type_is_422(client: httpx.AsyncClient) -> None:
    r = await client.post(
        "/v1/activities",
        json={"email": "ana@acme.com", "type": "teleported", "occurred_at": "2026-11-01T10:00Z"},
        headers={"authorization": f"Bearer {KEY}"},
    )
    assert_problem(r, 422)


async def test_hubspot_without_configured_secret_is_503(client: httpx.AsyncClient) -> None:
    r = await client.post("/v1/webhooks/hubspot", json={"email": "ana@acme.com"})
    assert_problem(r, 503)


async def test_metrics_and_health(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    await client.post("/v1/form-submissions", json={})
    text = (await client.get("/metrics")).text
    line = next(
        ln
        for ln in text.splitlines()
        if ln.startswith("leadloop_http_requests_total{")
        and 'route="/v1/form-submissions"' in ln
        and 'status="401"' in ln
    )
    assert 'service="intake"' in line
    assert float(line.rsplit(" ", 1)[1]) >= 1
