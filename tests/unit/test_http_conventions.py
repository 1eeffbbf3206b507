"""HTTP conventions of the shared edge (issue #14, item 11), on an app without a database: a
malformed body's pointer is a JSON Pointer to the whole body; every 503 says when to retry; a body
of another type is a 415; a 201 documents its Location."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from leadloop_intake.bootstrap import create_app
from leadloop_intake.config import Settings
from leadloop_platform.http.problems import json_pointer, problem_response
from leadloop_routing.bootstrap import create_app as create_routing
from leadloop_routing.config import Settings as RoutingSettings

KEY = "unit-test-bootstrap-key-0123456789"
AUTH = {"authorization": f"Bearer {KEY}"}
NOWHERE = "postgresql://nobody@127.0.0.1:1/none"


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(bootstrap_api_key=KEY, database_url=NOWHERE)
    transport = httpx.ASGITransport(app=create_app(settings))
    async with httpx.AsyncClient(transport=transport, base_url="http://intake") as c:
        yield c


async def test_malformed_json_points_at_the_whole_body(client: httpx.AsyncClient) -> None:
    r = await client.post(
        "/v1/form-submissions",
        content=b'{"email": "ana@acme-dental.com",',
        headers=AUTH | {"content-type": "application/json"},
    )
    assert r.status_code == 400, r.text
    [error] = r.json()["errors"]
    assert error["pointer"] == ""
    assert error["field"] == "body"
    assert "at character" in error["message"]


def test_pointers_escape_tilde_and_slash() -> None:
    assert json_pointer([]) == ""
    assert json_pointer(["activities", 1, "email"]) == "/activities/1/email"
    assert json_pointer(["a/b", "m~n"]) == "/a~1b/m~0n"


async def test_readiness_failure_says_when_to_retry(client: httpx.AsyncClient) -> None:
    r = await client.get("/readyz")
    assert r.status_code == 503, r.text
    assert int(r.headers["retry-after"]) > 0


async def test_not_configured_says_to_retry_much_later(client: httpx.AsyncClient) -> None:
    r = await client.post(
        "/v1/webhooks/hubspot",
        content=b'{"email": "ana@acme-dental.com"}',
        headers={
            "content-type": "application/json",
            "X-HubSpot-Signature-v3": "c2lnbmVk",
            "X-HubSpot-Request-Timestamp": "1700000000000",
        },
    )
    assert r.status_code == 503, r.text
    assert r.json()["type"].endswith("/not-configured")
    assert int(r.headers["retry-after"]) >= 60


def test_every_503_problem_carries_retry_after() -> None:
    response = problem_response(503, "a background task died", kind="background-task-died")
    assert int(response.headers["retry-after"]) > 0
    assert problem_response(404, "gone", kind="not-found").headers.get("retry-after") is None


async def test_the_document_names_retry_after_on_every_503(client: httpx.AsyncClient) -> None:
    document = (await client.get("/openapi.json")).json()
    for item in document["paths"].values():
        for operation in item.values():
            assert "Retry-After" in operation["responses"]["503"]["headers"]


@pytest.mark.parametrize("media", ["text/plain", "application/xml"])
async def test_a_json_endpoint_refuses_another_type_with_415(
    client: httpx.AsyncClient, media: str
) -> None:
    r = await client.post(
        "/v1/form-submissions",
        content=b'{"email": "ana@acme-dental.com"}',
        headers=AUTH | {"content-type": media},
    )
    assert r.status_code == 415, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert "application/json" in r.json()["detail"]


async def test_the_csv_import_refuses_json_with_415(client: httpx.AsyncClient) -> None:
    r = await client.post(
        "/v1/imports", content=b'{"email": "x"}', headers=AUTH | {"content-type": "text/plain"}
    )
    assert r.status_code == 415, r.text
    assert "text/csv, multipart/form-data" in r.json()["detail"]


async def test_the_document_names_415_on_every_body(client: httpx.AsyncClient) -> None:
    document = (await client.get("/openapi.json")).json()
    with_body = [
        op for item in document["paths"].values() for op in item.values() if "requestBody" in op
    ]
    assert with_body
    assert all("415" in op["responses"] for op in with_body)


def test_a_201_documents_its_location() -> None:
    app = create_routing(RoutingSettings(bootstrap_api_key=KEY, database_url=NOWHERE))
    created = app.openapi()["paths"]["/v1/webhook-subscriptions"]["post"]["responses"]["201"]
    assert "Location" in created["headers"]
