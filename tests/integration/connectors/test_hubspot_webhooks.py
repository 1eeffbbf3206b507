"""The fake's HubSpot-side sender: SDK-signed event arrays and workflow webhooks that our v3
check accepts and our parser reads, and that fail the check when the secret differs."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from leadloop_cli.infra import free_port
from leadloop_connectors.hubspot import SignatureInvalid, parse_events, verify_v3
from tests.vendors.hubspot import event, post_signed
from tests.waiting import wait_for

SECRET = "hubspot-app-client-secret"


@pytest.fixture
async def inbox() -> AsyncIterator[tuple[str, list[tuple[str, bytes, dict[str, str]]]]]:
    port = free_port()
    url = f"http://127.0.0.1:{port}/v1/hubspot/events?portal=62515"
    got: list[tuple[str, bytes, dict[str, str]]] = []

    async def take(request: Request) -> Response:
        got.append((str(request.url), await request.body(), dict(request.headers)))
        return Response(status_code=204)

    app = Starlette(routes=[Route("/v1/hubspot/events", take, methods=["POST"])])
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())

    async def started() -> bool:
        return server.started

    await wait_for(started, timeout_s=30, what="the test inbox to listen")
    try:
        yield url, got
    finally:
        server.should_exit = True
        await task


def check(url: str, body: bytes, headers: dict[str, str], secret: str = SECRET) -> None:
    verify_v3(
        secret=secret,
        method="POST",
        uri=url,
        body=body,
        timestamp=headers.get("x-hubspot-request-timestamp"),
        signature=headers.get("x-hubspot-signature-v3"),
        now_ms=int(time.time() * 1000),
    )


async def test_a_signed_event_array_verifies_and_parses(inbox: tuple[str, list]) -> None:
    url, got = inbox
    events = [
        event("contact.creation", 512),
        event("contact.propertyChange", 512, propertyName="country", propertyValue="Norway"),
        event("object.creation", 9001, objectTypeId="0-48"),
    ]
    reply = await post_signed(url, events, SECRET)
    assert reply.status_code == 204
    ((received_url, body, headers),) = got
    check(received_url, body, headers)
    parsed = parse_events(body)
    assert [(e.object_type, e.action) for e in parsed] == [
        ("contact", "creation"),
        ("contact", "propertyChange"),
        ("call", "creation"),
    ]
    assert parsed[1].property_value == "Norway"
    with pytest.raises(SignatureInvalid):
        check(received_url, body, headers, secret="another-apps-secret")


async def test_a_signed_workflow_webhook_verifies(inbox: tuple[str, list]) -> None:
    url, got = inbox
    await post_signed(url, {"email": "ana@acme-dental.no", "country": "Norway"}, SECRET)
    ((received_url, body, headers),) = got
    check(received_url, body, headers)
    stale = int(time.time() * 1000) - 600_000
    await post_signed(url, {"email": "ana@acme-dental.no"}, SECRET, now_ms=stale)
    with pytest.raises(SignatureInvalid, match="old"):
        check(*got[1])
