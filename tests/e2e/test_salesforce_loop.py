"""Issue #15, case 4, four services as processes and the fake Salesforce org: a form lead's
alert upserts its Lead in Salesforce (routing's connector); the rep converts it and wins the
Opportunity, whose Outbound Message (carrying the Lead's Leadloop_Id__c through the conversion
mapping) is acknowledged by feedback and shows in revenue under the lead's campaign; the same
message from another organisation is refused with 401."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import httpx

from tests.vendors.salesforce import (
    ORG_ID,
    FakeSalesforce,
    outbound_message,
    post_outbound_message,
)

from ..factories import acme_dental_form
from ..waiting import wait_for
from .test_closed_loop import ALWAYS

OUTBOUND = "/v1/integrations/salesforce/outbound-messages"
# What a Flow's Outbound Message on Opportunity sends (docs/integrations/salesforce.md, step 4).
OPPORTUNITY_FIELDS = [
    "Id",
    "StageName",
    "Amount",
    "CloseDate",
    "IsClosed",
    "IsWon",
    "ContactId",
    "AccountId",
    "OwnerId",
    "Leadloop_Id__c",
    "LastModifiedDate",
]


def salesforce_settings(org: FakeSalesforce) -> dict[str, str]:
    """The connected app's settings for routing (and `leadloop reps sync`)."""
    return {
        "LEADLOOP_SALESFORCE_INSTANCE_URL": org.base_url,
        "LEADLOOP_SALESFORCE_CLIENT_ID": org.client_id,
        "LEADLOOP_SALESFORCE_CLIENT_SECRET": org.client_secret,
    }


def acknowledged(response: httpx.Response) -> bool:
    """Salesforce's listener contract: 200 and `<Ack>true</Ack>` in the SOAP response."""
    if response.status_code != 200:
        return False
    ack = ET.fromstring(response.content).find(".//{http://soap.sforce.com/2005/09/outbound}Ack")
    return ack is not None and ack.text == "true"


async def an_alerted_lead(
    http: httpx.AsyncClient, intake: Any, routing: Any, org: FakeSalesforce
) -> tuple[str, dict[str, Any]]:
    """ACME Dental's form fill and demo request → an SQL for rep-alice, whose alert upserted the
    Lead in Salesforce with Alice's user as owner; the lead id and that Lead."""
    alice_user = org.add_user("Alice Rep", "rep-alice@northwind.example")
    rep = {
        "name": "Alice",
        "email": "rep-alice@northwind.example",
        "teams": ["dach"],
        "working_hours": ALWAYS,
        "crm_ids": {"salesforce": alice_user},
    }
    assert (await http.put(f"{routing.url}/v1/reps/rep-alice", json=rep)).status_code == 200
    r = await http.post(f"{intake.url}/v1/form-submissions", json=acme_dental_form())
    assert r.status_code == 202, r.text
    lead_id: str = r.json()["lead_id"]
    hand_raise = {
        "lead_id": lead_id,
        "type": "demo_request",
        "occurred_at": datetime.now(UTC).isoformat(),
    }
    assert (await http.post(f"{intake.url}/v1/activities", json=hand_raise)).status_code == 202

    async def lead_in_salesforce() -> bool:
        leads = org.find("Lead", Leadloop_Id__c=lead_id)
        return bool(leads) and leads[0]["OwnerId"] == alice_user

    await wait_for(lead_in_salesforce, timeout_s=90, what="routing to upsert the Salesforce Lead")
    lead = org.find("Lead", Leadloop_Id__c=lead_id)[0]
    assert lead["Email"] == "ana.lopez@acme-dental.com"
    assert [t["OwnerId"] for t in org.find("Task", WhoId=lead["Id"])] == [alice_user]
    return lead_id, lead


async def won_revenue(http: httpx.AsyncClient, feedback: Any) -> dict[str, float]:
    """Won revenue by campaign (first touch)."""
    report = await http.get(
        f"{feedback.url}/v1/reports/revenue",
        params={"group_by": "campaign", "model": "first_touch"},
    )
    assert report.status_code == 200, report.text
    return {g["group"]: g["won_revenue"] for g in report.json()["groups"]}


async def test_a_won_opportunity_comes_back_from_salesforce_into_revenue(
    start_service: Callable[..., Awaitable[Any]],
    http: httpx.AsyncClient,
    salesforce: FakeSalesforce,
) -> None:
    await start_service("scoring")
    routing = await start_service(
        "routing",
        {
            **salesforce_settings(salesforce),
            "LEADLOOP_CONNECTOR_INTERVAL_S": "0.5",
            "LEADLOOP_REPS_SYNC_INTERVAL_S": "0",
        },
    )
    # The 15-character form is configured; the messages carry the 18-character one.
    feedback = await start_service("feedback", {"LEADLOOP_SALESFORCE_ORG_ID": ORG_ID[:15]})
    intake = await start_service("intake")
    lead_id, lead = await an_alerted_lead(http, intake, routing, salesforce)

    async def handed_off() -> bool:
        journey = await http.get(f"{feedback.url}/v1/leads/{lead_id}/journey")
        lines = [e["summary"] for e in journey.json()["events"]] if journey.is_success else []
        return any(line.startswith("Handed off to rep-alice") for line in lines)

    await wait_for(handed_off, timeout_s=60, what="feedback to know the hand-off")

    # Alice converts the Lead and wins the Opportunity; its Flow sends the Outbound Message.
    opportunity = salesforce.convert_lead(lead["Id"], amount="24000.0")
    modified = datetime.now(UTC)
    opportunity.update(
        StageName="Closed Won",
        IsClosed=True,
        IsWon=True,
        CloseDate=modified.date().isoformat(),
        LastModifiedDate=modified.isoformat(),
    )
    assert opportunity["Leadloop_Id__c"] == lead_id
    fields = {name: opportunity[name] for name in OPPORTUNITY_FIELDS}
    message = outbound_message([("Opportunity", fields)])
    answer = await post_outbound_message(f"{feedback.url}{OUTBOUND}", message)
    assert acknowledged(answer), answer.text
    assert answer.headers["content-type"].startswith("text/xml")

    async def in_revenue() -> bool:
        return (await won_revenue(http, feedback)).get("q4-dental-webinar") == 24000

    await wait_for(in_revenue, timeout_s=60, what="the won Opportunity under the lead's campaign")
    journey = (await http.get(f"{feedback.url}/v1/leads/{lead_id}/journey")).json()["events"]
    assert [e for e in journey if e["summary"].startswith(f"Deal {opportunity['Id']} won")]

    # The same message from an organisation that is not the configured one.
    forged = outbound_message([("Opportunity", fields)], org_id="00D5e000000OthErEAA")
    refused = await post_outbound_message(f"{feedback.url}{OUTBOUND}", forged)
    assert refused.status_code == 401, refused.text
    assert refused.json()["type"].endswith("unknown-organization")
