"""`POST /v1/activities` says in words what is wrong with a body (issue #14, item 18):
`occurred_at: field required` at `/occurred_at`, or `/activities/0/occurred_at` in a batch."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from leadloop_intake.bootstrap import create_app
from leadloop_intake.config import Settings

KEY = "unit-test-bootstrap-key-0123456789"
AUTH = {"authorization": f"Bearer {KEY}"}
ANA = {"email": "ana@acme-dental.com", "type": "page_view"}
BEN = {
    "lead_id": "lead-ACME-DENTAL",
    "type": "pricing_page_view",
    "occurred_at": "2026-11-01T10:00Z",
}


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(bootstrap_api_key=KEY, database_url="postgresql://nobody@127.0.0.1:1/none")
    transport = httpx.ASGITransport(app=create_app(settings))
    async with httpx.AsyncClient(transport=transport, base_url="http://intake") as c:
        yield c


async def _problem(client: httpx.AsyncClient, body: Any) -> dict[str, Any]:
    r = await client.post("/v1/activities", json=body, headers=AUTH)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == "application/problem+json"
    problem: dict[str, Any] = r.json()
    assert problem["type"] == "https://leadloop.dev/problems/validation-error"
    return problem


async def test_a_missing_occurred_at_is_named_in_words(client: httpx.AsyncClient) -> None:
    problem = await _problem(client, ANA)
    assert problem["detail"] == "occurred_at: field required"
    assert problem["errors"] == [
        {
            "pointer": "/occurred_at",
            "field": "occurred_at",
            "message": "field required",
            "code": "missing",
        }
    ]


async def test_in_a_batch_the_activity_is_named_by_its_index(client: httpx.AsyncClient) -> None:
    problem = await _problem(client, {"activities": [ANA, BEN]})
    assert problem["detail"] == "activities.0.occurred_at: field required"
    assert [e["pointer"] for e in problem["errors"]] == ["/activities/0/occurred_at"]


async def test_a_rule_across_fields_reads_as_a_sentence(client: httpx.AsyncClient) -> None:
    both = BEN | {"email": "ben@acme-dental.com"}
    problem = await _problem(client, {"activities": [BEN, both]})
    assert problem["detail"] == "activities.1: give exactly one of lead_id or email"
    assert problem["errors"][0]["pointer"] == "/activities/1"


async def test_malformed_json_stays_a_400(client: httpx.AsyncClient) -> None:
    r = await client.post(
        "/v1/activities", content=b'{"type": ', headers=AUTH | {"content-type": "application/json"}
    )
    assert r.status_code == 400, r.text
    assert r.json()["type"] == "https://leadloop.dev/problems/malformed-json"
