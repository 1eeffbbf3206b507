"""HubSpot's Webhooks API at intake's one target URL, on a real Postgres and broker: contacts
read from the fake HubSpot API and captured, sales' changes relayed for feedback, privacy
deletions erased, each event once by its key; HubSpot down is a 503 so HubSpot sends again."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncEngine

from leadloop_intake.adapters.tables import submissions
from leadloop_intake.bootstrap import create_app
from leadloop_intake.config import Settings

from ...vendors.hubspot import FakeHubSpot, event, serve_hubspot, signed_headers
from .conftest import HUBSPOT_SECRET, KEY
from .test_intake_api import events

AUTH = {"authorization": f"Bearer {KEY}"}
URL = "http://intake/v1/integrations/hubspot/events"
INGRID = {
    "email": "ingrid@fjord-freight.no",
    "firstname": "Ingrid",
    "company": "Fjord Freight",
    "country": "Norway",
    "industry": "LOGISTICS_AND_SUPPLY_CHAIN",
    "numemployees": "100-500",
    "utm_campaign": "nordics-q4",
}


@pytest.fixture
async def hubspot() -> AsyncIterator[FakeHubSpot]:
    fake, stop = await serve_hubspot()
    yield fake
    await stop()


@contextlib.asynccontextmanager
async def serving(settings: Settings, **changes: Any) -> AsyncIterator[httpx.AsyncClient]:
    """Intake in-process with these settings changed, its lifespan running."""
    app = create_app(settings.model_copy(update=changes))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://intake") as c:
            yield c


@pytest.fixture
async def intake(
    intake_settings: Settings, hubspot: FakeHubSpot
) -> AsyncIterator[httpx.AsyncClient]:
    token = SecretStr(hubspot.token)
    async with serving(
        intake_settings, hubspot_access_token=token, hubspot_api_url=hubspot.url
    ) as client:
        yield client


async def deliver(client: httpx.AsyncClient, batch: list[dict[str, Any]]) -> httpx.Response:
    """POST an event array signed as HubSpot signs it (the HubSpot SDK's helper)."""
    body = json.dumps(batch).encode()
    return await client.post(URL, content=body, headers=signed_headers(URL, body, HUBSPOT_SECRET))


async def test_a_batch_captures_relays_and_ignores_each_event_once(
    intake: httpx.AsyncClient, hubspot: FakeHubSpot, engine: AsyncEngine, intake_settings: Settings
) -> None:
    contact = hubspot.seed("contacts", INGRID)
    batch = [
        event("contact.creation", contact),
        event("contact.propertyChange", contact, propertyName="country", propertyValue="Norway"),
        event(
            "contact.propertyChange",
            contact,
            propertyName="hs_lead_status",
            propertyValue="IN_PROGRESS",
        ),
        event("deal.propertyChange", 7001, propertyName="dealstage", propertyValue="closedwon"),
        event("object.creation", 8001, objectTypeId="0-48"),
        event(
            "contact.propertyChange", contact, propertyName="notes_last_updated", propertyValue="1"
        ),
    ]
    r = await deliver(intake, batch)
    assert r.status_code == 200, r.text
    assert r.json() == {
        "received": 6,
        "outcomes": {"captured": 1, "folded": 1, "relayed": 3, "ignored": 1},
    }
    published = await events(intake_settings, expect=4)
    [captured] = [e for e in published if e["type"] == "leadloop.lead.captured.v1"]
    assert captured["data"]["external_ids"] == {"hubspot": contact}
    assert captured["data"]["profile"]["country"] == "NO"
    assert captured["data"]["campaign"] == "nordics-q4"
    # Each object's events keep their order on its partition; across objects there is none.
    relayed = {
        e["data"]["object_type"]: e
        for e in published
        if e["type"] == "leadloop.crm.notification_received.v1"
    }
    assert sorted((t, e["data"]["object_id"]) for t, e in relayed.items()) == [
        ("call", "8001"),
        ("contact", contact),
        ("deal", "7001"),
    ]
    assert relayed["contact"]["data"]["property_value"] == "IN_PROGRESS"
    deal = relayed["deal"]
    assert deal["data"]["event_key"] == f"62515:deal.propertyChange:7001:{batch[3]['eventId']}"
    assert deal["subject"] == "hubspot:deal:7001"

    again = await deliver(intake, batch)  # HubSpot's retry after a timeout
    assert again.json()["outcomes"] == {"replayed": 6}
    async with engine.connect() as conn:
        assert (await conn.scalar(sa.select(sa.func.count()).select_from(submissions))) == 1


async def test_a_privacy_deletion_erases_the_lead_of_that_contact(
    intake: httpx.AsyncClient, hubspot: FakeHubSpot
) -> None:
    contact = hubspot.seed("contacts", INGRID)
    await deliver(intake, [event("contact.creation", contact)])
    r = await deliver(intake, [event("contact.privacyDeletion", contact)])
    assert r.json()["outcomes"] == {"erased": 1}, r.text
    r = await deliver(intake, [event("contact.privacyDeletion", 999_999)])
    assert r.json()["outcomes"] == {"unknown": 1}


async def test_hubspot_down_or_rate_limited_is_a_503_and_the_retry_captures(
    intake: httpx.AsyncClient, hubspot: FakeHubSpot
) -> None:
    contact = hubspot.seed("contacts", INGRID)
    batch = [event("contact.creation", contact)]
    hubspot.fail_next(1, 502)
    r = await deliver(intake, batch)
    assert r.status_code == 503 and "HubSpot" in r.json()["detail"], r.text
    hubspot.rate_limit_next(1, retry_after="7")
    r = await deliver(intake, batch)
    assert r.status_code == 503 and r.headers["retry-after"] == "8", r.text
    r = await deliver(intake, batch)
    assert r.json()["outcomes"] == {"captured": 1}, r.text


async def test_contacts_need_the_token_sales_changes_do_not(
    intake_settings: Settings, engine: AsyncEngine
) -> None:
    async with serving(intake_settings, hubspot_access_token=None) as client:
        r = await deliver(client, [event("contact.creation", 5101)])
        assert r.status_code == 503
        assert "LEADLOOP_HUBSPOT_ACCESS_TOKEN" in r.json()["detail"]
        r = await deliver(client, [event("deal.creation", 7001)])
        assert r.json()["outcomes"] == {"relayed": 1}, r.text


async def test_forged_or_malformed_requests_are_refused(intake: httpx.AsyncClient) -> None:
    body = json.dumps([event("deal.creation", 7001)]).encode()
    headers = signed_headers(URL, body, "another-apps-secret")
    assert (await intake.post(URL, content=body, headers=headers)).status_code == 401
    r = await deliver(intake, [{"eventId": 1}])
    assert r.status_code == 400 and "subscriptionType" in r.json()["detail"]
