"""Routing in-process on the real broker and Postgres, fed with events the way scoring and
feedback would publish them."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from leadloop_events import topics
from leadloop_events.agreement import AgreementPublished
from leadloop_events.envelope import EventData, new_event
from leadloop_events.intake import LeadProfile
from leadloop_events.lifecycle import LeadIntelligence, LeadStageChanged, TimelineEntry
from leadloop_platform.settings import CommonSettings
from leadloop_routing.bootstrap import create_app
from leadloop_routing.config import Settings
from leadloop_scoring.domain.agreement import EXAMPLE_FILE, checksum, load_agreement

from ..messaging.support import produce

KEY = "llk_routing_tests_key_with_every_scope_00"
ALWAYS = {
    "timezone": "UTC",
    "start": "00:00:00",
    "end": "23:59:59",
    "workdays": [0, 1, 2, 3, 4, 5, 6],
}


@dataclass
class RoutingUnderTest:
    app: FastAPI
    http: httpx.AsyncClient
    settings: CommonSettings
    send: Callable[..., Awaitable[None]]


def intelligence(email: str = "ana@acme-dental.com", country: str = "DE") -> LeadIntelligence:
    return LeadIntelligence(
        profile=LeadProfile(
            email=email,
            first_name="Ana",
            last_name="Lopez",
            company="ACME Dental",
            company_size=240,
            country=country,
            job_title="Head of Operations",
        ),
        fit=85,
        interest=40,
        grade="A",
        timeline=[TimelineEntry(activity_type="demo_request", occurred_at=datetime.now(UTC))],
        sources=["webinar"],
        campaigns=["q4-dental-webinar"],
        first_seen_at=datetime.now(UTC),
    )


def sql_event(lead_id: str, **kw: Any) -> LeadStageChanged:
    return LeadStageChanged(
        lead_id=lead_id,
        from_stage="mql",
        to_stage="sql",
        reason="hand-raise: demo_request",
        agreement_version="2026-11",
        changed_at=datetime.now(UTC),
        intelligence=intelligence(**kw),
    )


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
            **extra,
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
            event = new_event(data, source="/tests", subject=subject)
            records += [(subject.encode(), event.to_bytes())] * (2 if twice else 1)
        await produce(settings.kafka_bootstrap_servers, settings.topic(topic), records)

    agreement = load_agreement(EXAMPLE_FILE.read_text())
    published = AgreementPublished(
        version=agreement.version,
        published_at=datetime.now(UTC),
        checksum=checksum(agreement),
        document=agreement.model_dump(mode="json"),
    )
    await send(topics.LIFECYCLE, published)
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
