"""The whole loop, four services as processes on the real broker and Postgres:
form fill → score → SQL → assignment → touch → accepted → deal won → revenue by campaign;
then the person is erased and disappears from every report."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from leadloop_cli.kafka import ApacheKafka

from ..conftest import Broker
from ..factories import acme_dental_form
from ..waiting import wait_for
from .crm import connected_call, post_crm_calls

pytestmark = pytest.mark.both_brokers

ALWAYS = {
    "timezone": "UTC",
    "start": "00:00:00",
    "end": "23:59:59",
    "workdays": [0, 1, 2, 3, 4, 5, 6],
}


async def idempotent_producer(http: httpx.AsyncClient, service: Any) -> float:
    """The service's leadloop_kafka_idempotent_producer gauge, read from its /metrics."""
    text = (await http.get(f"{service.url}/metrics")).text
    found = re.search(
        rf'^leadloop_kafka_idempotent_producer{{service="{service.name}"}} (\S+)$', text, re.M
    )
    assert found, f"{service.name} exposes no leadloop_kafka_idempotent_producer"
    return float(found[1])


async def test_form_fill_to_revenue_and_erasure(
    start_service: Callable[[str], Awaitable[Any]], http: httpx.AsyncClient, broker: Broker
) -> None:
    scoring = await start_service("scoring")
    routing = await start_service("routing")
    feedback = await start_service("feedback")
    intake = await start_service("intake")
    # Detected, not configured: on where the broker grants it (Apache Kafka), off on Tansu.
    for service in (scoring, routing, feedback, intake):
        expected = 1.0 if isinstance(broker, ApacheKafka) else 0.0
        assert await idempotent_producer(http, service) == expected, service.name
    r = await http.put(
        f"{routing.url}/v1/reps/rep-alice",
        json={
            "name": "Alice",
            "email": "rep-alice@northwind.example",
            "teams": ["dach"],
            "working_hours": ALWAYS,
        },
    )
    assert r.status_code == 200, r.text
    r = await http.put(
        f"{feedback.url}/v1/campaigns/q4-dental-webinar",
        json={"name": "Q4 dental webinar", "spend": "6000", "currency": "EUR"},
    )
    assert r.status_code == 200, r.text

    lead_id = (
        await http.post(
            f"{intake.url}/v1/form-submissions",
            json=acme_dental_form(),
        )
    ).json()["lead_id"]
    r = await http.post(
        f"{intake.url}/v1/activities",
        json={
            "lead_id": lead_id,
            "type": "demo_request",
            "occurred_at": datetime.now(UTC).isoformat(),
            "campaign": "demo-page",
        },
    )
    assert r.status_code == 202

    async def assigned() -> bool:
        return (await http.get(f"{routing.url}/v1/leads/{lead_id}/assignment")).status_code == 200

    await wait_for(assigned, timeout_s=60, what="routing to assign the SQL")
    assignment = (await http.get(f"{routing.url}/v1/leads/{lead_id}/assignment")).json()
    assert assignment["current"]["rep_id"] == "rep-alice"

    now = datetime.now(UTC).isoformat()
    crm_calls = [
        connected_call("t-1", lead_id, now),
        (
            "status-updates",
            {"crm_event_id": "s-1", "lead_id": lead_id, "status": "accepted", "changed_at": now},
        ),
        (
            "deals",
            {
                "crm_event_id": "d-1",
                "lead_id": lead_id,
                "deal_id": "D-ACME",
                "stage": "created",
                "amount": "30000",
                "currency": "EUR",
                "closed_at": now,
            },
        ),
        (
            "deals",
            {
                "crm_event_id": "d-2",
                "lead_id": lead_id,
                "deal_id": "D-ACME",
                "stage": "won",
                "amount": "24000",
                "currency": "EUR",
                "recurring": True,
                "closed_at": now,
            },
        ),
    ]
    await post_crm_calls(http, feedback.url, crm_calls)

    async def won_by_campaign() -> bool:
        report = (
            await http.get(
                f"{feedback.url}/v1/reports/revenue",
                params={"group_by": "campaign", "model": "linear"},
            )
        ).json()
        won = {g["group"]: g["won_revenue"] for g in report["groups"]}
        return won.get("q4-dental-webinar") == 12000 and won.get("demo-page") == 12000

    await wait_for(won_by_campaign, timeout_s=60, what="the won deal in the revenue report")
    report = (
        await http.get(
            f"{feedback.url}/v1/reports/revenue",
            params={"group_by": "campaign", "model": "first_touch"},
        )
    ).json()
    webinar = next(g for g in report["groups"] if g["group"] == "q4-dental-webinar")
    assert webinar["won_revenue"] == 24000 and webinar["roi"] == 3.0

    async def customer() -> bool:
        score = (await http.get(f"{scoring.url}/v1/leads/{lead_id}/score")).json()
        return score["stage"] == "customer"

    await wait_for(customer, timeout_s=60, what="scoring to make the lead a customer")
    funnel = (await http.get(f"{feedback.url}/v1/reports/funnel")).json()
    assert funnel["groups"][0]["counts"]["customer"] == 1
    csv = (await http.get(f"{feedback.url}/v1/reports/funnel", params={"format": "csv"})).text
    assert csv.splitlines()[0].startswith("group,")

    story = (await http.get(f"{feedback.url}/v1/leads/{lead_id}/journey")).json()["events"]
    lines = [e["summary"] for e in story]
    assert lines[0].startswith("Captured from a form (webinar, q4-dental-webinar)")
    assert any(line.startswith("Handed off to rep-alice (dach, new business)") for line in lines)
    assert "rep-alice: call, connected." in lines
    assert any(line.startswith("Deal D-ACME won: 24000") for line in lines)
    assert "ana" not in " ".join(lines).lower()

    assert (await http.delete(f"{intake.url}/v1/leads/{lead_id}")).status_code == 202

    async def gone() -> bool:
        funnel = (await http.get(f"{feedback.url}/v1/reports/funnel")).json()
        revenue = (await http.get(f"{feedback.url}/v1/reports/revenue")).json()
        journey = await http.get(f"{feedback.url}/v1/leads/{lead_id}/journey")
        return (
            not funnel["groups"]
            and not any(g["won_revenue"] for g in revenue["groups"])
            and journey.status_code == 404
        )

    await wait_for(gone, timeout_s=60, what="the erased lead to leave every report")
