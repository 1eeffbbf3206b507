"""Issue #15, case 1, four services as processes: a HubSpot-signed contact webhook (country
"Norway", a HubSpot industry, a utm campaign) becomes a lead with country NO, the agreement's
industry and the campaign, and its hand-off intelligence carries the HubSpot contact id."""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import httpx
from hubspot.utils.signature import Signature

from leadloop_events import topics

from ..integration.messaging.support import read_all
from ..waiting import wait_for

SECRET = "hubspot-app-secret-for-e2e"
ALWAYS = {
    "timezone": "UTC",
    "start": "00:00:00",
    "end": "23:59:59",
    "workdays": [0, 1, 2, 3, 4, 5, 6],
}
# A workflow's "send a webhook" action with the contact's properties, as HubSpot posts it.
CONTACT = {
    "vid": 5101,
    "properties": {
        "email": {"value": "ingrid.berg@fjord-freight.no"},
        "firstname": {"value": "Ingrid"},
        "lastname": {"value": "Berg"},
        "company": {"value": "Fjord Freight"},
        "jobtitle": {"value": "Head of Operations"},
        "numemployees": {"value": "100-500"},
        "country": {"value": "Norway"},
        "industry": {"value": "LOGISTICS_AND_SUPPLY_CHAIN"},
        "utm_source": {"value": "linkedin"},
        "utm_campaign": {"value": "nordics-q4-freight"},
    },
}


async def post_signed(url: str, payload: dict[str, Any]) -> httpx.Response:
    """POST as HubSpot does, signed v3 by the HubSpot SDK's own helper."""
    body = json.dumps(payload)
    ts = str(int(time.time() * 1000))
    headers = {
        "Content-Type": "application/json",
        "X-HubSpot-Signature-v3": Signature.get_signature(
            SECRET, body, "v3", http_uri=url, http_method="POST", timestamp=ts
        ),
        "X-HubSpot-Request-Timestamp": ts,
    }
    async with httpx.AsyncClient(timeout=30) as client:
        return await client.post(url, content=body.encode(), headers=headers)


async def test_a_hubspot_contact_becomes_a_lead_that_keeps_its_data(
    start_service: Callable[..., Awaitable[Any]],
    http: httpx.AsyncClient,
    bootstrap_servers: str,
    topic_prefix: str,
) -> None:
    scoring = await start_service("scoring")
    routing = await start_service("routing")
    feedback = await start_service("feedback")
    intake = await start_service("intake", {"LEADLOOP_HUBSPOT_CLIENT_SECRET": SECRET})
    rep = {
        "name": "Nils",
        "email": "rep-nils@northwind.example",
        "teams": ["nordics"],
        "working_hours": ALWAYS,
    }
    assert (await http.put(f"{routing.url}/v1/reps/rep-nils", json=rep)).status_code == 200

    r = await post_signed(f"{intake.url}/v1/webhooks/hubspot", CONTACT)
    assert r.status_code == 202, r.text
    lead_id = r.json()["lead_id"]
    lead = (await http.get(f"{intake.url}/v1/leads/{lead_id}")).json()
    assert (lead["country"], lead["industry"], lead["company_size"]) == ("NO", "Logistics", 100)
    assert lead["external_ids"] == {"hubspot": "5101"}
    assert lead["first_campaign"] == "nordics-q4-freight"

    async def fit_scored() -> bool:
        score = await http.get(f"{scoring.url}/v1/leads/{lead_id}/score")
        return score.status_code == 200 and score.json()["grade"] == "A"

    # Norway, Logistics and 100 employees are the agreement's territory, industry and size.
    await wait_for(fit_scored, timeout_s=60, what="scoring to grade the HubSpot lead A")
    hand_raise = {
        "lead_id": lead_id,
        "type": "demo_request",
        "occurred_at": datetime.now(UTC).isoformat(),
    }
    assert (await http.post(f"{intake.url}/v1/activities", json=hand_raise)).status_code == 202

    async def assigned() -> bool:
        return (await http.get(f"{routing.url}/v1/leads/{lead_id}/assignment")).status_code == 200

    await wait_for(assigned, timeout_s=60, what="routing to assign the SQL")
    assignment = (await http.get(f"{routing.url}/v1/leads/{lead_id}/assignment")).json()
    current = assignment["current"]
    assert (current["rep_id"], current["team"]) == ("rep-nils", "nordics")

    records = await read_all(bootstrap_servers, topic_prefix + topics.HANDOFF, expect=1)
    alerts = [json.loads(r.value) for r in records]
    [alert] = [a for a in alerts if a["subject"] == lead_id]
    intelligence = alert["data"]["intelligence"]
    assert intelligence["external_ids"] == {"hubspot": "5101"}
    assert intelligence["profile"]["country"] == "NO"
    assert intelligence["campaigns"] == ["nordics-q4-freight"]

    async def journey_has_the_campaign() -> bool:
        journey = await http.get(f"{feedback.url}/v1/leads/{lead_id}/journey")
        return journey.status_code == 200 and "nordics-q4-freight" in journey.text

    await wait_for(journey_has_the_campaign, timeout_s=60, what="the journey to show the campaign")
