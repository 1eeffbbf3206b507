"""The lead alert over real HTTP (signed per Standard Webhooks, verified with the
`standardwebhooks` package) and real SMTP (an aiosmtpd server), each sent once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import httpx
import pytest
import uvicorn
from aiosmtpd.controller import Controller
from standardwebhooks import Webhook
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from leadloop_cli.infra import free_port
from leadloop_events import topics
from leadloop_events.envelope import new_event
from leadloop_platform.settings import CommonSettings

from ...factories import ALWAYS, agreement_published, stage_changed
from ...waiting import wait_for
from ..messaging.support import produce
from .conftest import KEY, RoutingUnderTest, build


@dataclass
class Receiver:
    url: str
    received: list[tuple[bytes, dict[str, str]]] = field(default_factory=list)
    fail_first: int = 0


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    port = free_port()
    box = Receiver(f"http://127.0.0.1:{port}/hooks/leads")

    async def hook(request: Request) -> Response:
        box.received.append((await request.body(), dict(request.headers)))
        if len(box.received) <= box.fail_first:
            return Response(status_code=503)
        return Response(status_code=204)

    app = Starlette(routes=[Route("/hooks/leads", hook, methods=["POST"])])
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    task = asyncio.create_task(server.serve())

    async def started() -> bool:
        return server.started

    await wait_for(started, what="the webhook receiver")
    yield box
    server.should_exit = True
    await task


async def test_webhook_alert_is_signed_retried_logged_and_redeliverable(
    routing: RoutingUnderTest, receiver: Receiver
) -> None:
    receiver.fail_first = 1
    r = await routing.http.post(
        "/v1/webhook-subscriptions", json={"url": receiver.url, "description": "CRM bridge"}
    )
    assert r.status_code == 201
    assert r.headers["location"] == f"/v1/webhook-subscriptions/{r.json()['subscription_id']}"
    secret = r.json()["secret"]
    assert secret.startswith("whsec_")
    await routing.send(topics.LIFECYCLE, stage_changed("lead-UMBRELLA"))
    deliveries = routing.app.state.webhooks

    async def first_attempt() -> bool:
        await deliveries.run_once()
        return len(receiver.received) >= 1

    await wait_for(first_attempt, timeout_s=30, what="the first delivery attempt")
    log = (await routing.http.get("/v1/webhook-deliveries?lead_id=lead-UMBRELLA")).json()["items"]
    assert log[0]["status"] == "pending" and log[0]["attempts"][0]["status_code"] == 503
    # The retry is scheduled seconds later; the redelivery endpoint sends it now.
    r = await routing.http.post(f"/v1/webhook-deliveries/{log[0]['delivery_id']}/redeliver")
    assert r.status_code == 200

    async def redelivered() -> bool:
        await deliveries.run_once()
        return len(receiver.received) >= 2

    await wait_for(redelivered, timeout_s=30, what="the redelivery")
    assert len(receiver.received) == 2
    body, headers = receiver.received[-1]
    payload: Any = Webhook(secret).verify(body, headers)
    assert payload["type"] == "leadloop.lead.assigned.v1"
    assert payload["data"]["intelligence"]["profile"]["company"] == "ACME Dental"
    assert headers["webhook-id"] == payload["id"]

    async def logged() -> bool:
        log = (await routing.http.get("/v1/webhook-deliveries?lead_id=lead-UMBRELLA")).json()[
            "items"
        ]
        return bool(log[0]["status"] == "succeeded" and len(log[0]["attempts"]) == 2)

    await wait_for(logged, what="the successful attempt in the delivery log")
    await deliveries.run_once()
    assert len(receiver.received) == 2  # delivered once; nothing left to send
    forged = body.replace(b"ACME Dental", b"Evil Corp")
    with pytest.raises(Exception, match=r"(?i)signature"):
        Webhook(secret).verify(forged, headers)


class Inbox:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))  # type: ignore[arg-type]
        return "250 OK"


async def test_the_rep_gets_one_alert_email(settings: CommonSettings) -> None:
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        app = build(settings, smtp_host="127.0.0.1", smtp_port=port, smtp_starttls=False)
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app),
                base_url="http://routing",
                headers={"authorization": f"Bearer {KEY}"},
            ) as http,
        ):
            await http.put(
                "/v1/reps/rep-alice",
                json={
                    "name": "Alice",
                    "email": "rep-alice@northwind.example",
                    "teams": ["dach"],
                    "working_hours": ALWAYS,
                },
            )
            events = [
                new_event(agreement_published(), subject="agreement"),
                new_event(stage_changed("lead-HOOLI"), subject="lead-HOOLI"),
            ]
            await produce(
                settings.kafka_bootstrap_servers,
                settings.topic(topics.LIFECYCLE),
                [(e.subject.encode(), e.to_bytes()) for e in events],
            )  # type: ignore[union-attr]

            async def emailed() -> bool:
                await app.state.emails.run_once()
                return bool(inbox.messages)

            await wait_for(emailed, timeout_s=30, what="the alert email")
            await app.state.emails.run_once()
        [message] = inbox.messages
        assert message["To"] == "rep-alice@northwind.example"
        assert message["Subject"].startswith("New SQL: Ana Lopez, ACME Dental (grade A)")
        plain = message.get_body(("plain",))
        html_part = message.get_body(("html",))
        assert plain is not None and "first touch by" in plain.get_content()
        assert html_part is not None and "<b>ACME Dental</b>" in html_part.get_content()
    finally:
        controller.stop()
