"""Feedback on the real broker and Postgres: CRM updates are checked, published and consumed;
reports stay right under duplicate deliveries and out-of-order arrival across topics."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx

from leadloop_events import topics
from leadloop_events.feedback import DealClosed, LeadTouched
from leadloop_platform.settings import CommonSettings
from leadloop_platform.webhooks import sign

from ...waiting import wait_for
from ..messaging.support import read_all
from .support import CRM_SECRET, T0, captured, handed, send, stage


async def test_reports_survive_duplicates_and_out_of_order_topics(
    feedback: httpx.AsyncClient, settings: CommonSettings
) -> None:
    lead = "lead-ACME-DENTAL"
    first = captured(lead, campaign="q4-webinar")
    assigned = handed(lead, "rep-alice", assignment_id="a1")
    touch = LeadTouched(
        lead_id=lead,
        crm_event_id="t-1",
        rep_id="rep-alice",
        channel="call",
        outcome="connected",
        touched_at=T0 + timedelta(days=1, minutes=12),
    )
    won = DealClosed(
        lead_id=lead,
        crm_event_id="d-1",
        deal_id="D1",
        stage="won",
        amount=Decimal("24000"),
        currency="EUR",
        closed_at=T0 + timedelta(days=2),
    )
    # Sales-side facts first, marketing-side later, everything twice.
    await send(settings, topics.FEEDBACK, touch, won, twice=True)
    await send(settings, topics.HANDOFF, assigned, twice=True)
    await send(
        settings,
        topics.LIFECYCLE,
        stage(lead, "mql", 0.1),
        stage(lead, "sql", 0.5, "mql"),
        twice=True,
    )
    await send(settings, topics.INTAKE, first, twice=True)

    async def settled() -> bool:
        funnel = (await feedback.get("/v1/reports/funnel")).json()
        return bool(funnel["groups"]) and funnel["groups"][0]["counts"]["sql"] == 1

    await wait_for(settled, timeout_s=30, what="the read model to settle")
    funnel = (await feedback.get("/v1/reports/funnel")).json()["groups"][0]
    assert funnel["counts"]["lead"] == 1 and funnel["counts"]["mql"] == 1
    revenue = (await feedback.get("/v1/reports/revenue?group_by=source")).json()
    assert [(g["group"], g["won_revenue"]) for g in revenue["groups"]] == [("webinar", 24000.0)]
    sla = (await feedback.get("/v1/reports/sla", params={"from": T0.isoformat()})).json()
    [alice] = sla["sales"]["groups"]
    assert (alice["group"], alice["p50_minutes"], alice["attempts"]) == ("rep-alice", 12.0, 1)
    assert alice["touched_within_sla"] == 1.0


async def test_crm_updates_are_checked_published_and_idempotent(
    feedback: httpx.AsyncClient, settings: CommonSettings
) -> None:
    lead = "lead-GLOBEX"
    await send(settings, topics.INTAKE, captured(lead, "s2", source="paid_search"))
    await send(settings, topics.LIFECYCLE, stage(lead, "sql", 0.2))
    await send(settings, topics.HANDOFF, handed(lead, "rep-bob"))
    early = {
        "crm_event_id": "s-early",
        "lead_id": "lead-NOBODY",
        "status": "accepted",
        "changed_at": T0.isoformat(),
    }
    r = await feedback.post("/v1/crm/status-updates", json=early)
    assert r.status_code == 422 and r.json()["errors"][0]["code"] == "unknown_lead"

    accept = {
        "crm_event_id": "s-1",
        "lead_id": lead,
        "status": "accepted",
        "changed_at": datetime.now(UTC).isoformat(),
    }

    async def accepted() -> bool:
        return (await feedback.post("/v1/crm/status-updates", json=accept)).status_code == 202

    await wait_for(accepted, timeout_s=30, what="feedback to know the SQL")
    again = await feedback.post("/v1/crm/status-updates", json=accept)
    assert again.status_code == 200 and again.json()["accepted"][0]["duplicate"] is True
    rejected = await feedback.post(
        "/v1/crm/status-updates",
        json=[
            {
                "crm_event_id": "s-2",
                "lead_id": lead,
                "status": "rejected",
                "changed_at": T0.isoformat(),
            }
        ],
    )
    assert rejected.status_code == 409 and rejected.json()["errors"][0]["code"] == "reason_code"
    # A lead that is not an SQL yet cannot have an opportunity.
    await send(settings, topics.INTAKE, captured("lead-INITECH", "s3", source="event"))
    deal = {
        "items": [
            {
                "crm_event_id": "d-9",
                "lead_id": "lead-INITECH",
                "deal_id": "D9",
                "stage": "created",
                "amount": "1000",
                "currency": "EUR",
                "closed_at": T0.isoformat(),
            }
        ]
    }

    async def refused() -> bool:
        return (await feedback.post("/v1/crm/deals", json=deal)).status_code == 409

    await wait_for(refused, timeout_s=30, what="the impossible deal to be refused")
    impossible = await feedback.post("/v1/crm/deals", json=deal)
    assert impossible.json()["errors"][0]["pointer"] == "/items/0"

    async def bob_known() -> bool:
        sla = (await feedback.get("/v1/reports/sla", params={"from": T0.isoformat()})).json()
        return any(g["group"] == "rep-bob" for g in sla["sales"]["groups"])

    # a touch follows the hand-off: wait until feedback has read it
    await wait_for(bob_known, timeout_s=30, what="feedback to read rep-bob's hand-off")
    body = json.dumps(
        {
            "crm_event_id": "t-9",
            "lead_id": lead,
            "rep_id": "rep-bob",
            "channel": "email",
            "outcome": "attempted",
            "touched_at": datetime.now(UTC).isoformat(),
        }
    ).encode()
    now = int(time.time())
    signed = {
        "webhook-id": "msg-1",
        "webhook-timestamp": str(now),
        "webhook-signature": sign(CRM_SECRET, "msg-1", now, body),
        "content-type": "application/json",
        "authorization": "",
    }
    r = await feedback.post("/v1/crm/touches", content=body, headers=signed)
    assert r.status_code == 202, r.text
    forged = {**signed, "webhook-signature": sign(CRM_SECRET, "msg-1", now, body + b" ")}
    assert (await feedback.post("/v1/crm/touches", content=body, headers=forged)).status_code == 401

    published = await read_all(
        settings.kafka_bootstrap_servers, settings.topic(topics.FEEDBACK), expect=2
    )
    types = sorted(json.loads(r.value)["type"] for r in published)
    assert types == ["leadloop.lead.status_changed.v1", "leadloop.lead.touched.v1"]
