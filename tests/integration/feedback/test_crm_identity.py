"""Identity across systems on the real broker and Postgres: CRM calls name the lead by email or
CRM id and the rep by email; feedback keeps hashes only, and an erasure forgets them."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from leadloop_events import topics
from leadloop_events.envelope import CloudEvent
from leadloop_events.handoff import LeadLinked
from leadloop_events.intake import LeadErased, LeadProfile
from leadloop_events.lifecycle import LeadIntelligence
from leadloop_feedback.domain.identity import email_key
from leadloop_platform.settings import CommonSettings

from ...waiting import wait_for
from ..messaging.support import read_all
from .support import T0, captured, handed, send, stage

LEAD = "lead-ACME-DENTAL"
ANA = "Ana.Lopez@acme-dental.example"
ALICE = "Alice.Smith@northwind.example"


async def rows(engine: AsyncEngine, query: str, **params: Any) -> list[Any]:
    async with engine.connect() as conn:
        return list(await conn.execute(sa.text(query), params))


@pytest.fixture
async def known_to_hubspot(
    feedback: httpx.AsyncClient, settings: CommonSettings, engine: AsyncEngine
) -> None:
    """ACME Dental captured with Ana's address and HubSpot contact 5101, an SQL handed to
    rep-alice, whom routing knows by her address and HubSpot owner 8101."""
    profile = LeadProfile(email=ANA, company="ACME Dental")
    first = captured(
        LEAD, "s-acme", channel="hubspot", profile=profile, external_ids={"hubspot": "5101"}
    )
    intel = LeadIntelligence(
        profile=profile, fit=80, interest=40, grade="A", external_ids={"hubspot": "5101"}
    )
    sql = stage(LEAD, "sql", 0.2).model_copy(update={"intelligence": intel})
    alert = handed(LEAD, "rep-alice").model_copy(
        update={"intelligence": intel, "owner_email": ALICE, "owner_crm_ids": {"hubspot": "8101"}}
    )
    await send(settings, topics.INTAKE, first)
    await send(settings, topics.LIFECYCLE, sql)
    await send(settings, topics.HANDOFF, alert)

    async def indexed() -> bool:
        leads = await rows(engine, "SELECT kind FROM feedback.lead_identities")
        reps = await rows(engine, "SELECT kind FROM feedback.rep_identities")
        handed = await rows(engine, "SELECT 1 FROM feedback.assignments")
        stages = await rows(engine, "SELECT 1 FROM feedback.leads WHERE stage = 'sql'")
        return (len(leads), len(reps), len(handed), len(stages)) == (2, 2, 1, 1)

    await wait_for(indexed, timeout_s=30, what="feedback to index the lead and its rep")


def touch(crm_event_id: str, **naming: Any) -> dict[str, Any]:
    return {
        "crm_event_id": crm_event_id,
        "channel": "call",
        "outcome": "connected",
        "touched_at": (T0 + timedelta(days=1, minutes=12)).isoformat(),
        **naming,
    }


async def published(settings: CommonSettings, event_type: str) -> list[CloudEvent]:
    records = await read_all(
        settings.kafka_bootstrap_servers, settings.topic(topics.FEEDBACK), expect=1
    )
    events = [CloudEvent.model_validate_json(r.value) for r in records]
    return [e for e in events if e.type == event_type]


async def test_a_touch_by_email_lands_on_the_lead_and_stops_its_sla(
    feedback: httpx.AsyncClient,
    settings: CommonSettings,
    engine: AsyncEngine,
    known_to_hubspot: None,
) -> None:
    r = await feedback.post(
        "/v1/crm/touches",
        json=touch("t-1", email=ANA.upper(), rep_email=ALICE.lower()),
    )
    assert r.status_code == 202, r.text
    [event] = await published(settings, "leadloop.lead.touched.v1")
    assert (event.subject, event.data["lead_id"], event.data["rep_id"]) == (
        LEAD,
        LEAD,
        "rep-alice",
    )

    async def touched() -> bool:
        sla = (await feedback.get("/v1/reports/sla", params={"from": T0.isoformat()})).json()
        return [(g["group"], g["touched_within_sla"]) for g in sla["sales"]["groups"]] == [
            ("rep-alice", 1.0)
        ]

    await wait_for(touched, timeout_s=30, what="the touch to meet rep-alice's SLA")
    # feedback keeps hashes only: neither address appears in any of its tables
    assert await rows(
        engine, "SELECT value FROM feedback.lead_identities WHERE kind = 'email'"
    ) == [(email_key(ANA),)]
    tables = await rows(
        engine,
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'feedback'",
    )
    for (table,) in tables:
        for address in (ANA, ALICE):
            found = await rows(
                engine,
                f'SELECT 1 FROM feedback."{table}" t WHERE lower(t::text) LIKE :needle',
                needle=f"%{address.split('@')[0].lower()}%",
            )
            assert found == [], f"{address} is kept in feedback.{table}"


async def test_a_deal_by_hubspot_contact_id_lands_on_the_lead(
    feedback: httpx.AsyncClient,
    settings: CommonSettings,
    engine: AsyncEngine,
    known_to_hubspot: None,
) -> None:
    deal = {
        "crm_event_id": "hs-deal-7301-created",
        "external_id": {"system": "hubspot", "id": "5101"},
        "deal_id": "hs-deal-7301",
        "stage": "created",
        "amount": "12000.00",
        "currency": "EUR",
        "closed_at": (T0 + timedelta(days=2)).isoformat(),
    }
    r = await feedback.post("/v1/crm/deals", json=deal)
    assert r.status_code == 202, r.text
    [event] = await published(settings, "leadloop.deal.closed.v1")
    assert (event.data["lead_id"], event.data["deal_id"]) == (LEAD, "hs-deal-7301")
    unknown = await feedback.post(
        "/v1/crm/deals",
        json={**deal, "crm_event_id": "d-2", "external_id": {"system": "hubspot", "id": "9"}},
    )
    assert unknown.status_code == 422, unknown.text
    assert [(e["pointer"], e["code"]) for e in unknown.json()["errors"]] == [
        ("/items/0/external_id", "unknown_lead")
    ]

    async def kept() -> bool:
        found = await rows(engine, "SELECT lead_id FROM feedback.deals")
        return found == [(LEAD,)]

    await wait_for(kept, timeout_s=30, what="the deal to be read back under the lead")


async def test_erasure_forgets_the_identities(
    feedback: httpx.AsyncClient,
    settings: CommonSettings,
    engine: AsyncEngine,
    known_to_hubspot: None,
) -> None:
    await send(settings, topics.INTAKE, LeadErased(lead_id=LEAD, erased_at=T0 + timedelta(days=3)))

    async def forgotten() -> bool:
        return await rows(engine, "SELECT 1 FROM feedback.lead_identities") == []

    await wait_for(forgotten, timeout_s=30, what="the erasure to remove the lead's identities")
    for naming, field in (
        ({"email": ANA}, "email"),
        ({"external_id": {"system": "hubspot", "id": "5101"}}, "external_id"),
    ):
        r = await feedback.post("/v1/crm/touches", json=touch("t-9", rep_id="rep-alice", **naming))
        assert r.status_code == 422, r.text
        assert [(e["pointer"], e["code"]) for e in r.json()["errors"]] == [
            (f"/items/0/{field}", "unknown_lead")
        ]
    # the rep is a colleague, not the erased person: still known by her address
    assert len(await rows(engine, "SELECT 1 FROM feedback.rep_identities")) == 2


async def test_a_deal_by_the_salesforce_lead_routing_linked_lands_on_the_lead(
    feedback: httpx.AsyncClient,
    settings: CommonSettings,
    engine: AsyncEngine,
    known_to_hubspot: None,
) -> None:
    sf_lead = "00Q5e00000AbCdEAAZ"
    link = LeadLinked(lead_id=LEAD, system="salesforce", external_id=sf_lead, linked_at=T0)
    await send(settings, topics.HANDOFF, link)

    async def linked() -> bool:
        query = "SELECT lead_id FROM feedback.lead_identities WHERE kind = 'salesforce'"
        return await rows(engine, query) == [(LEAD,)]

    await wait_for(linked, timeout_s=30, what="lead.linked to index the Salesforce Lead")
    deal = {
        "crm_event_id": "sf-opp-1-created",
        "external_id": {"system": "salesforce", "id": sf_lead},
        "deal_id": "006-opp-1",
        "stage": "created",
        "amount": "8000.00",
        "currency": "EUR",
        "closed_at": (T0 + timedelta(days=2)).isoformat(),
    }
    r = await feedback.post("/v1/crm/deals", json=deal)
    assert r.status_code == 202, r.text
    [event] = await published(settings, "leadloop.deal.closed.v1")
    assert (event.data["lead_id"], event.data["deal_id"]) == (LEAD, "006-opp-1")
