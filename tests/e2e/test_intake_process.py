"""Intake as a real process: a form fill comes back 202 and its CloudEvent is readable on
leads.intake with a plain aiokafka consumer."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from leadloop_events import topics

from ..integration.messaging.support import read_all


async def test_form_fill_to_event_on_the_broker(
    start_service: Callable[[str], Awaitable[Any]],
    http: httpx.AsyncClient,
    bootstrap_servers: str,
    topic_prefix: str,
) -> None:
    intake = await start_service("intake")
    form = {
        "email": "rep-test@umbrella-corp.com",
        "first_name": "Dee",
        "company": "Umbrella Corp",
        "company_size": 5000,
        "country": "US",
        "source": "paid_search",
        "campaign": "brand-q4",
    }
    r = await http.post(
        f"{intake.url}/v1/form-submissions", json=form, headers={"x-correlation-id": "e2e-form-1"}
    )
    assert r.status_code == 202, r.text
    lead_id = r.json()["lead_id"]
    r = await http.post(
        f"{intake.url}/v1/activities",
        json={"lead_id": lead_id, "type": "demo_request", "occurred_at": "2026-11-22T10:00:00Z"},
    )
    assert r.status_code == 202, r.text

    records = await read_all(bootstrap_servers, topic_prefix + topics.INTAKE, expect=2)
    events = [json.loads(r.value) for r in records]
    assert [e["type"] for e in events] == [
        "leadloop.lead.captured.v1",
        "leadloop.lead.activity_recorded.v1",
    ]
    captured = events[0]
    assert captured["specversion"] == "1.0"
    assert captured["subject"] == lead_id
    assert captured["correlationid"] == "e2e-form-1"
    assert captured["data"]["profile"]["company"] == "Umbrella Corp"
    assert {r.key for r in records} == {lead_id.encode()}

    metrics = (await http.get(f"{intake.url}/metrics")).text
    assert "leadloop_events_published_total" in metrics
    assert (
        'leadloop_leads_captured_total{channel="form",new_lead="true",source="paid_search"}'
        in metrics
    )


async def test_sigterm_drains_and_exits_cleanly(
    start_service: Callable[[str], Awaitable[Any]],
    http: httpx.AsyncClient,
    bootstrap_servers: str,
    topic_prefix: str,
) -> None:
    intake = await start_service("intake")
    r = await http.post(f"{intake.url}/v1/form-submissions", json={"email": "bye@hooli.com"})
    assert r.status_code == 202
    intake.proc.terminate()
    # uvicorn re-raises SIGTERM after a graceful shutdown, so -15 is a clean exit too.
    assert intake.proc.wait(20) in (0, -15)
    log = intake.log.read_text()
    assert "Application shutdown complete" in log
    assert "outbox relay for schema intake stopped" in log
    [record] = await read_all(bootstrap_servers, topic_prefix + topics.INTAKE, expect=1)
    assert json.loads(record.value)["subject"] == r.json()["lead_id"]
