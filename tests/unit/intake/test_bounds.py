"""Intake's edge bounds every request (#12 items 5 and 15): free-form JSON is shallow and small,
every text has a length limit, reported times are not in the future; each a problem naming the
field, never a 500, and all of it before anything touches a database."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from leadloop_intake.bootstrap import create_app
from leadloop_intake.config import Settings

KEY = "unit-test-bootstrap-key-0123456789"
AUTH = {"authorization": f"Bearer {KEY}"}
HUBSPOT_SECRET = "hubspot-secret-for-bounds-tests"


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(
        bootstrap_api_key=KEY,
        hubspot_client_secret=HUBSPOT_SECRET,
        database_url="postgresql://nobody@127.0.0.1:1/none",  # never reached
    )
    transport = httpx.ASGITransport(app=create_app(settings))
    async with httpx.AsyncClient(transport=transport, base_url="http://intake") as c:
        yield c


def nested(depth: int) -> list[Any]:
    """A list `depth` levels deep: [[[...]]]."""
    value: list[Any] = []
    for _ in range(depth - 1):
        value = [value]
    return value


def problem_fields(response: httpx.Response, status: int = 422) -> set[str]:
    """The fields a problem document names (asserting it is one, with this status)."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    return {e["field"] for e in response.json().get("errors", [])}


def activity(**change: Any) -> dict[str, Any]:
    base = {"email": "ana@acme-dental.com", "type": "page_view", "occurred_at": "2026-11-01T10:00Z"}
    return base | change


async def test_the_red_teams_220_deep_activity_is_a_422_naming_properties(
    client: httpx.AsyncClient,
) -> None:
    deep = activity(properties={"path": nested(220)})
    r = await client.post("/v1/activities", json=deep, headers=AUTH)
    assert problem_fields(r) == {"properties"}
    assert "deeper than 8" in r.text
    r = await client.post("/v1/activities", json={"activities": [activity(), deep]}, headers=AUTH)
    assert problem_fields(r) == {"activities.1.properties"}


async def test_free_form_fields_are_bounded_in_depth_count_and_size(
    client: httpx.AsyncClient,
) -> None:
    form = {"email": "ana@acme-dental.com"}
    for fields, why in [
        ({"deep": nested(9)}, "deeper than 8"),
        ({f"k{i}": i for i in range(1001)}, "more than 1000 values"),
        ({"blob": "x" * 70_000}, "at most 65536"),
    ]:
        r = await client.post("/v1/form-submissions", json=form | {"fields": fields}, headers=AUTH)
        assert problem_fields(r) == {"fields"}
        assert why in r.text


async def test_a_body_nested_past_the_json_parsers_recursion_limit_is_a_400(
    client: httpx.AsyncClient,
) -> None:
    body = b"[" * 10_000 + b"]" * 10_000
    for url in ("/v1/form-submissions", "/v1/activities"):
        r = await client.post(
            url, content=body, headers={**AUTH, "content-type": "application/json"}
        )
        problem_fields(r, 400)
    obj = b'{"a":' * 10_000 + b"1" + b"}" * 10_000
    r = await client.post(
        "/v1/activities", content=obj, headers={**AUTH, "content-type": "application/json"}
    )
    problem_fields(r, 400)


def signed(body: bytes, url: str) -> dict[str, str]:
    ts = str(int(time.time() * 1000))
    message = b"POST" + url.encode() + body + ts.encode()
    digest = hmac.new(HUBSPOT_SECRET.encode(), message, hashlib.sha256).digest()
    return {
        "X-HubSpot-Signature-v3": base64.b64encode(digest).decode(),
        "X-HubSpot-Request-Timestamp": ts,
        "content-type": "application/json",
    }


async def test_a_signed_hubspot_call_nested_too_deep_is_refused_not_a_500(
    client: httpx.AsyncClient,
) -> None:
    url = "http://intake/v1/webhooks/hubspot"
    too_deep = b'{"email":' + b"[" * 10_000 + b"]" * 10_000 + b"}"
    r = await client.post(url, content=too_deep, headers=signed(too_deep, url))
    problem_fields(r, 400)
    deep = json.dumps({"email": "bo@globex.io", "hobbies": nested(220)}).encode()
    r = await client.post(url, content=deep, headers=signed(deep, url))
    assert problem_fields(r) == {"fields"}


async def test_an_over_long_text_is_a_422_naming_it(client: httpx.AsyncClient) -> None:
    form = {"email": "ana@acme-dental.com"}
    for field, value in [
        ("first_name", "A" * 201),
        ("company", "C" * 201),
        ("page_url", "https://acme-dental.com/" + "p" * 2048),
        ("email", "a" * 64 + "@" + "d" * 300 + ".com"),
        ("phone", "1" * 51),
    ]:
        r = await client.post("/v1/form-submissions", json=form | {field: value}, headers=AUTH)
        assert problem_fields(r) == {field}, field
    r = await client.post("/v1/activities", json=activity(asset="A" * 201), headers=AUTH)
    assert problem_fields(r) == {"asset"}


async def test_a_time_in_the_future_is_a_422(client: httpx.AsyncClient) -> None:
    soon = (datetime.now(UTC) + timedelta(minutes=5)).isoformat()  # within the clock skew
    later = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    form = {"email": "ana@acme-dental.com"}
    for when in (later, "9999-12-31T23:59:59Z"):
        r = await client.post(
            "/v1/form-submissions", json=form | {"submitted_at": when}, headers=AUTH
        )
        assert problem_fields(r) == {"submitted_at"}
        assert "future" in r.text
        r = await client.post("/v1/activities", json=activity(occurred_at=when), headers=AUTH)
        assert problem_fields(r) == {"occurred_at"}
    # Within the skew it passes validation and reaches the (absent) database: not a 422.
    r = await client.post("/v1/activities", json=activity(occurred_at=soon), headers=AUTH)
    assert r.status_code != 422, r.text
