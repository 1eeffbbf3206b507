"""Routing in-process on the real broker and Postgres, fed with events the way scoring and
feedback would publish them."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from leadloop_events import topics
from leadloop_events.envelope import EventData, new_event
from leadloop_platform.settings import CommonSettings
from leadloop_routing.bootstrap import create_app
from leadloop_routing.config import Settings

from ...factories import ALWAYS, agreement_published
from ..messaging.support import produce

KEY = "llk_routing_tests_key_with_every_scope_00"


@dataclass
class RoutingUnderTest:
    app: FastAPI
    http: httpx.AsyncClient
    settings: CommonSettings
    send: Callable[..., Awaitable[None]]


def build(settings: CommonSettings, **extra: Any) -> FastAPI:
    shared = settings.model_dump(
        exclude={"service_name", "bootstrap_api_key", "log_json", "outbox_poll_interval_s"}
    )
    return create_app(
        Settings(
            **shared,
            bootstrap_api_key=KEY,
            log_json=False,
            outbox_poll_interval_s=0.2,
            consumer_group="routing-test",
            sla_interval_s=3600,
            delivery_interval_s=0.2,
            **{"webhook_allowed_hosts": "127.0.0.1", **extra},  # the local receivers
        )
    )


@pytest.fixture
async def routing(settings: CommonSettings) -> AsyncIterator[RoutingUnderTest]:
    app = build(settings)

    async def send(topic: str, *items: EventData, twice: bool = False) -> None:
        agreement_key = None
        records = []
        for data in items:
            subject = getattr(data, "lead_id", None) or agreement_key or "agreement"
            event = new_event(data, subject=subject)
            records += [(subject.encode(), event.to_bytes())] * (2 if twice else 1)
        await produce(settings.kafka_bootstrap_servers, settings.topic(topic), records)

    await send(topics.LIFECYCLE, agreement_published())
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://routing",
            headers={"authorization": f"Bearer {KEY}"},
        ) as http,
    ):
        for rep_id, weight in (("rep-alice", 2), ("rep-bob", 1)):
            r = await http.put(
                f"/v1/reps/{rep_id}",
                json={
                    "name": rep_id.title(),
                    "email": f"{rep_id}@northwind.example",
                    "teams": ["dach"],
                    "weight": weight,
                    "working_hours": ALWAYS,
                    "manager_email": "head-of-sales@northwind.example",
                },
            )
            assert r.status_code == 200, r.text
        yield RoutingUnderTest(app, http, settings, send)
