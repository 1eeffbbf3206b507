"""Issue #15, case 3, four services as processes and the fake HubSpot API: for a lead that came
from a HubSpot contact, a logged call becomes a touch that stops the SLA timer, and a deal marked
closed-won shows in the revenue report under the lead's campaign. HubSpot's notifications reach
intake's one target URL, signed; feedback reads the call and the deal from the HubSpot API."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from tests.vendors.hubspot import FakeHubSpot, event, post_signed

from ..waiting import wait_for
from .test_hubspot_contact import ALWAYS, CONTACT, SECRET
from .test_hubspot_contact import post_signed as post_workflow_webhook

OWNER = "6202"  # rep-nils's HubSpot owner id
CONTACT_ID = str(CONTACT["vid"])


async def an_assigned_hubspot_lead(
    http: httpx.AsyncClient, intake: Any, scoring: Any, routing: Any
) -> str:
    """The contact's workflow webhook → a lead, graded A; its hand-raise → rep-nils."""
    rep = {
        "name": "Nils",
        "email": "rep-nils@northwind.example",
        "teams": ["nordics"],
        "working_hours": ALWAYS,
        "crm_ids": {"hubspot": OWNER},
    }
    assert (await http.put(f"{routing.url}/v1/reps/rep-nils", json=rep)).status_code == 200
    r = await post_workflow_webhook(f"{intake.url}/v1/webhooks/hubspot", CONTACT)
    assert r.status_code == 202, r.text
    lead_id: str = r.json()["lead_id"]

    async def fit_scored() -> bool:
        score = await http.get(f"{scoring.url}/v1/leads/{lead_id}/score")
        return score.status_code == 200 and score.json()["grade"] == "A"

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
    return lead_id


async def test_a_logged_call_and_a_won_deal_come_back_from_hubspot(
    start_service: Callable[..., Awaitable[Any]],
    http: httpx.AsyncClient,
    hubspot: FakeHubSpot,
) -> None:
    api = {"LEADLOOP_HUBSPOT_ACCESS_TOKEN": hubspot.token, "LEADLOOP_HUBSPOT_API_URL": hubspot.url}
    scoring = await start_service("scoring")
    routing = await start_service("routing")
    feedback = await start_service("feedback", {**api, "LEADLOOP_HUBSPOT_INBOX_INTERVAL_S": "0.5"})
    intake = await start_service("intake", {**api, "LEADLOOP_HUBSPOT_CLIENT_SECRET": SECRET})
    lead_id = await an_assigned_hubspot_lead(http, intake, scoring, routing)
    target = f"{intake.url}/v1/integrations/hubspot/events"

    # Nils logs a call on the contact: HubSpot notifies object.creation (calls are 0-48).
    called = (datetime.now(UTC) - timedelta(seconds=5)).isoformat()
    call = hubspot.seed("calls", {"hubspot_owner_id": OWNER, "hs_timestamp": called})
    hubspot.associate("calls", call, "contacts", CONTACT_ID, 194)
    r = await post_signed(target, [event("object.creation", call, objectTypeId="0-48")], SECRET)
    assert r.status_code == 200, r.text

    async def touched() -> bool:
        current = (await http.get(f"{routing.url}/v1/leads/{lead_id}/assignment")).json()
        return current["current"]["status"] == "touched"

    await wait_for(touched, timeout_s=60, what="the call to stop the SLA timer")

    # The deal is marked closed-won: HubSpot notifies the dealstage change.
    deal = hubspot.seed(
        "deals",
        {
            "dealstage": "closedwon",
            "amount": "24000",
            "closedate": datetime.now(UTC).isoformat(),
            "hs_is_closed": "true",
            "hs_is_closed_won": "true",
            "deal_currency_code": "EUR",
        },
    )
    hubspot.associate("deals", deal, "contacts", CONTACT_ID, 3)
    won = event("deal.propertyChange", deal, propertyName="dealstage", propertyValue="closedwon")
    r = await post_signed(target, [won], SECRET)
    assert r.status_code == 200, r.text

    async def in_revenue() -> bool:
        report = await http.get(
            f"{feedback.url}/v1/reports/revenue",
            params={"group_by": "campaign", "model": "first_touch"},
        )
        groups = {g["group"]: g["won_revenue"] for g in report.json()["groups"]}
        return groups.get("nordics-q4-freight") == 24000

    await wait_for(in_revenue, timeout_s=60, what="the won deal under the HubSpot campaign")
    assert len(hubspot.calls_to("GET", f"/crm/v3/objects/deals/{deal}")) == 1
