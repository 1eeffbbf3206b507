"""External ids on a real Postgres: a HubSpot contact id kept, merged with a form fill's
Salesforce id, announced on lead.captured, shown on the lead, resolved, forgotten on erasure."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import sqlalchemy as sa
from hubspot.utils.signature import Signature
from sqlalchemy.ext.asyncio import AsyncEngine

from leadloop_intake import handlers
from leadloop_intake.adapters.tables import lead_identities, outbox
from leadloop_intake.adapters.uow import SqlUnitOfWork
from leadloop_intake.config import Settings
from leadloop_runtime import Transactions

from .conftest import HUBSPOT_SECRET, KEY
from .test_intake_api import events

AUTH = {"authorization": f"Bearer {KEY}"}
URL = "http://intake/v1/webhooks/hubspot"
SF_LEAD = "00Q5e00000AbCdEAAZ"
CONTACT = {
    "vid": 5101,
    "properties": {
        "email": {"value": "ingrid@fjord-freight.no"},
        "country": {"value": "Norway"},
        "industry": {"value": "LOGISTICS_AND_SUPPLY_CHAIN"},
        "numemployees": {"value": "100-500"},
        "utm_campaign": {"value": "nordics-q4"},
    },
}


async def post_contact(client: httpx.AsyncClient, payload: dict[str, Any]) -> httpx.Response:
    """POST a workflow webhook signed by the HubSpot SDK's own helper."""
    body = json.dumps(payload)
    ts = str(int(time.time() * 1000))
    signature = Signature.get_signature(HUBSPOT_SECRET, body, "v3", http_uri=URL, timestamp=ts)
    headers = {
        "X-HubSpot-Signature-v3": signature,
        "X-HubSpot-Request-Timestamp": ts,
        "content-type": "application/json",
    }
    return await client.post(URL, content=body.encode(), headers=headers)


async def find(engine: AsyncEngine, system: Any, external_id: str) -> str:
    """intake's find_lead, run as its routes run handlers."""
    runner = Transactions(lambda: SqlUnitOfWork(engine, outbox))
    lead_id: str = await runner.run(handlers.find_lead, system, external_id)
    return lead_id


async def test_a_contact_id_is_kept_merged_announced_and_resolved(
    client: httpx.AsyncClient, engine: AsyncEngine, intake_settings: Settings
) -> None:
    r = await post_contact(client, CONTACT)
    assert r.status_code == 202, r.text
    lead_id = r.json()["lead_id"]
    form = {"email": "Ingrid@Fjord-Freight.no", "external_ids": {"salesforce": SF_LEAD}}
    r = await client.post("/v1/form-submissions", json=form, headers=AUTH)
    assert r.status_code == 202, r.text and r.json()["lead_id"] == lead_id

    lead = (await client.get(f"/v1/leads/{lead_id}", headers=AUTH)).json()
    assert lead["external_ids"] == {"hubspot": "5101", "salesforce": SF_LEAD}
    assert (lead["country"], lead["industry"], lead["company_size"]) == ("NO", "Logistics", 100)
    assert lead["submissions"][-1]["campaign"] == "nordics-q4"
    assert await find(engine, "hubspot", "5101") == lead_id
    assert await find(engine, "salesforce", SF_LEAD) == lead_id

    first, second = await events(intake_settings, expect=2)
    assert first["data"]["external_ids"] == {"hubspot": "5101"}
    assert first["data"]["campaign"] == "nordics-q4"
    assert second["data"]["external_ids"] == {"hubspot": "5101", "salesforce": SF_LEAD}


async def test_a_changed_email_stays_the_same_lead_and_erasure_forgets_the_ids(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    lead_id = (await post_contact(client, CONTACT)).json()["lead_id"]
    moved = json.loads(json.dumps(CONTACT))
    moved["properties"]["email"] = {"value": "ingrid@fjordfreight.com"}
    r = await post_contact(client, moved)
    assert r.status_code == 202, r.text
    assert r.json()["lead_id"] == lead_id
    lead = (await client.get(f"/v1/leads/{lead_id}", headers=AUTH)).json()
    assert lead["email"] == "ingrid@fjordfreight.com"

    assert (await client.delete(f"/v1/leads/{lead_id}", headers=AUTH)).status_code == 202
    async with engine.connect() as conn:
        left = await conn.execute(
            sa.select(lead_identities).where(lead_identities.c.lead_id == lead_id)
        )
        assert left.all() == []


async def test_a_form_fill_without_ids_announces_the_ids_the_lead_has(
    client: httpx.AsyncClient, intake_settings: Settings
) -> None:
    lead_id = (await post_contact(client, CONTACT)).json()["lead_id"]
    submissions = []
    for email in ("Ingrid@Fjord-Freight.no", "ola@fjord-freight.no"):
        r = await client.post("/v1/form-submissions", json={"email": email}, headers=AUTH)
        assert r.status_code == 202, r.text
        submissions.append(r.json()["submission_id"])

    # Leads' events go to their partitions: found by submission, not by their order.
    by_submission = {
        e["data"]["submission_id"]: e["data"] for e in await events(intake_settings, expect=3)
    }
    known, new = (by_submission[s] for s in submissions)
    assert (known["lead_id"], known["is_new_lead"]) == (lead_id, False)
    assert known["external_ids"] == {"hubspot": "5101"}
    assert (new["is_new_lead"], new["external_ids"]) == (True, {})
