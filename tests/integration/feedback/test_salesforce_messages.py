"""Salesforce Outbound Messages into feedback, on the real broker and Postgres: deals, statuses
and touches recorded once and acknowledged; other organisations and bad XML refused."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from prometheus_client import REGISTRY
from sqlalchemy.ext.asyncio import AsyncEngine

from leadloop_connectors.salesforce import ACK_BODY
from leadloop_feedback.adapters.tables import outbox
from leadloop_feedback.bootstrap import create_app
from leadloop_feedback.config import Settings
from leadloop_platform.settings import CommonSettings
from tests.vendors.salesforce import ORG_ID, outbound_message, with_checksum

from ...waiting import wait_for
from .support import KEY, T0, an_sql

URL = "/v1/integrations/salesforce/outbound-messages"
XML = {"content-type": "text/xml; charset=utf-8"}
LEAD = "lead-ACME-DENTAL"
SF_LEAD = with_checksum("00Q5e00000AcMeD")
ALICE_USER = with_checksum("0055e00000AlIcE")


def app_settings(settings: CommonSettings, **extra: Any) -> Settings:
    shared = settings.model_dump(
        exclude={"service_name", "bootstrap_api_key", "log_json", "outbox_poll_interval_s"}
    )
    mine = {
        "bootstrap_api_key": KEY,
        "log_json": False,
        "outbox_poll_interval_s": 0.2,
        "consumer_group": "feedback-test",
    }
    return Settings(**{**shared, **mine, **extra})


@pytest.fixture
async def feedback(settings: CommonSettings) -> AsyncIterator[httpx.AsyncClient]:
    # The 15-character form is configured: the messages carry the 18-character one.
    app = create_app(app_settings(settings, salesforce_org_id=ORG_ID[:15]))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://feedback",
            headers={"authorization": f"Bearer {KEY}"},
        ) as client,
    ):
        yield client


def counted(sobject: str, outcome: str) -> float:
    value = REGISTRY.get_sample_value(
        "leadloop_salesforce_notifications_total", {"sobject": sobject, "outcome": outcome}
    )
    return value or 0.0


def acknowledged(response: httpx.Response) -> bool:
    root = ET.fromstring(response.content)
    ack = root.find(".//{http://soap.sforce.com/2005/09/outbound}Ack")
    return response.status_code == 200 and ack is not None and ack.text == "true"


async def published(engine: AsyncEngine, event_type: str) -> int:
    async with engine.connect() as conn:
        query = sa.select(sa.func.count()).where(outbox.c.event_type == event_type)
        return int((await conn.execute(query)).scalar_one())


def won_opportunity() -> bytes:
    modified = (datetime.now(UTC) - timedelta(minutes=5)).isoformat()
    fields = {
        "Id": "0065e00000ABCdeAAF",
        "StageName": "Closed Won",
        "Amount": "24000.0",
        "CloseDate": "2026-11-27",
        "IsClosed": True,
        "IsWon": True,
        "Leadloop_Id__c": LEAD,
        "LastModifiedDate": modified,
    }
    return outbound_message([("Opportunity", fields)])


async def test_a_closed_won_opportunity_shows_in_revenue_once(
    feedback: httpx.AsyncClient, settings: CommonSettings, engine: AsyncEngine
) -> None:
    await an_sql(feedback, settings, LEAD)
    body = won_opportunity()
    recorded, repeated = counted("Opportunity", "recorded"), counted("Opportunity", "duplicate")
    first = await feedback.post(URL, content=body, headers=XML)
    assert acknowledged(first), first.text
    assert first.content == ACK_BODY
    again = await feedback.post(URL, content=body, headers=XML)  # Salesforce's redelivery
    assert acknowledged(again)
    assert counted("Opportunity", "recorded") == recorded + 1
    assert counted("Opportunity", "duplicate") == repeated + 1
    assert await published(engine, "leadloop.deal.closed.v1") == 1

    async def in_revenue() -> bool:
        groups = (await feedback.get("/v1/reports/revenue")).json()["groups"]
        return [(g["group"], g["won_revenue"]) for g in groups] == [("q4-webinar", 24000.0)]

    await wait_for(in_revenue, timeout_s=30, what="the deal in the revenue report")


async def test_a_lead_status_change_becomes_a_status(
    feedback: httpx.AsyncClient, settings: CommonSettings, engine: AsyncEngine
) -> None:
    await an_sql(feedback, settings, LEAD)
    fields = {
        "Id": "00Q5e00000AcMeDEAL",
        "Status": "Working - Contacted",
        "Leadloop_Id__c": LEAD,
        "LastModifiedDate": datetime.now(UTC).isoformat(),
    }
    response = await feedback.post(URL, content=outbound_message([("Lead", fields)]), headers=XML)
    assert acknowledged(response)
    assert await published(engine, "leadloop.lead.status_changed.v1") == 1

    async def accepted() -> bool:
        groups = (await feedback.get("/v1/reports/lead-quality")).json()["groups"]
        return [(g["group"], g["accepted"]) for g in groups] == [("webinar", 1)]

    await wait_for(accepted, timeout_s=30, what="the lead accepted by sales")


async def test_an_unknown_lead_is_acknowledged_and_counted(
    feedback: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    before = counted("Opportunity", "unknown_lead")
    fields = {"Id": "0065e00000ABCdeAAF", "StageName": "Closed Won", "Leadloop_Id__c": "nobody"}
    response = await feedback.post(
        URL, content=outbound_message([("Opportunity", fields)]), headers=XML
    )
    assert acknowledged(response)
    assert counted("Opportunity", "unknown_lead") == before + 1
    assert await published(engine, "leadloop.deal.closed.v1") == 0


async def test_another_organisation_and_bad_xml_are_refused(
    feedback: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    other = outbound_message(
        [("Opportunity", {"Id": "0065e00000ABCdeAAF", "Leadloop_Id__c": LEAD})],
        org_id="00D5e000000OthErEAA",
    )
    refused = await feedback.post(URL, content=other, headers=XML)
    assert refused.status_code == 401
    assert refused.json()["type"].endswith("unknown-organization")
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE lol [<!ENTITY lol "lol">]>'
        + won_opportunity().split(b"?>", 1)[1]
    )
    assert (await feedback.post(URL, content=bomb, headers=XML)).status_code == 400
    assert (await feedback.post(URL, content=b"<notifications", headers=XML)).status_code == 400
    assert await published(engine, "leadloop.deal.closed.v1") == 0


async def test_without_an_org_id_messages_are_not_accepted(settings: CommonSettings) -> None:
    app = create_app(app_settings(settings, run_consumer=False, run_relay=False))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://f") as client,
    ):
        response = await client.post(URL, content=won_opportunity(), headers=XML)
    assert response.status_code == 503
    assert "LEADLOOP_SALESFORCE_ORG_ID" in response.json()["detail"]


async def test_a_completed_task_is_a_touch_that_stops_the_sla_clock(
    feedback: httpx.AsyncClient, settings: CommonSettings, engine: AsyncEngine
) -> None:
    lead_ids, owner_ids = {"salesforce": SF_LEAD}, {"salesforce": ALICE_USER}
    await an_sql(feedback, settings, LEAD, external_ids=lead_ids, owner_crm_ids=owner_ids)
    touched = datetime.now(UTC) - timedelta(minutes=2)
    fields = {
        "Id": "00T5e00000TaSkAAAA",
        "WhoId": SF_LEAD[:15],  # the 15-character form names the same Lead
        "OwnerId": ALICE_USER,
        "Subject": "Call ACME Dental",
        "Status": "Completed",
        "IsClosed": True,
        "TaskSubtype": "Call",
        "CompletedDateTime": touched.isoformat(),
        "LastModifiedDate": touched.isoformat(),
    }
    response = await feedback.post(URL, content=outbound_message([("Task", fields)]), headers=XML)
    assert acknowledged(response)
    # lead.touched is what routing's stop_sla_timer consumes.
    assert await published(engine, "leadloop.lead.touched.v1") == 1

    async def touched_by_alice() -> bool:
        sla = (await feedback.get("/v1/reports/sla", params={"from": T0.isoformat()})).json()
        return [(g["group"], g["attempts"]) for g in sla["sales"]["groups"]] == [("rep-alice", 1)]

    await wait_for(touched_by_alice, timeout_s=30, what="the touch in the SLA report")
