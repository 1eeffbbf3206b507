"""HubSpot back into feedback, on the real broker and Postgres with the fake HubSpot API: relayed
notifications are kept once, read from the CRM, and recorded as deals and touches; a 429 waits
for Retry-After; an unknown contact ends its notification, counted."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from prometheus_client import REGISTRY
from sqlalchemy.ext.asyncio import AsyncEngine

from leadloop_events import topics
from leadloop_events.envelope import new_event
from leadloop_events.intake import CrmNotificationReceived
from leadloop_feedback.adapters.tables import crm_inbox, outbox, processed_events
from leadloop_feedback.bootstrap import create_app
from leadloop_feedback.config import Settings
from leadloop_platform.settings import CommonSettings
from tests.vendors.hubspot import FakeHubSpot, serve_hubspot

from ...waiting import wait_for
from ..messaging.support import produce
from .support import KEY, an_sql

LEAD = "lead-ACME-DENTAL"
CONTACT = "5101"
ALICE_OWNER = "77"


@pytest.fixture
async def hubspot() -> AsyncIterator[FakeHubSpot]:
    fake, stop = await serve_hubspot()
    yield fake
    await stop()


@pytest.fixture
async def feedback(
    settings: CommonSettings, hubspot: FakeHubSpot
) -> AsyncIterator[httpx.AsyncClient]:
    shared = settings.model_dump(
        exclude={"service_name", "bootstrap_api_key", "log_json", "outbox_poll_interval_s"}
    )
    app = create_app(
        Settings(
            **shared,
            bootstrap_api_key=KEY,
            log_json=False,
            outbox_poll_interval_s=0.2,
            consumer_group="feedback-test",
            hubspot_access_token=hubspot.token,
            hubspot_api_url=hubspot.url,
            hubspot_inbox_interval_s=0.2,
        )
    )
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://feedback",
            headers={"authorization": f"Bearer {KEY}"},
        ) as client,
    ):
        yield client


async def an_sql_in_hubspot(feedback: httpx.AsyncClient, settings: CommonSettings) -> None:
    """LEAD (HubSpot contact CONTACT) from the q4-webinar campaign, handed to rep-alice (HubSpot
    owner ALICE_OWNER)."""
    lead_ids, owner_ids = {"hubspot": CONTACT}, {"hubspot": ALICE_OWNER}
    await an_sql(feedback, settings, LEAD, external_ids=lead_ids, owner_crm_ids=owner_ids)


def notification(object_type: str, object_id: str, **fields: Any) -> CrmNotificationReceived:
    """What intake relays for a HubSpot webhook event."""
    defaults: dict[str, Any] = {
        "subscription_type": f"{object_type}.creation",
        "occurred_at": datetime.now(UTC) - timedelta(minutes=1),
        "event_key": f"hubspot:62515:{object_type}.creation:{object_id}:{object_id}01",
    }
    return CrmNotificationReceived(
        system="hubspot",
        object_type=object_type,
        object_id=object_id,
        **{**defaults, **fields},
    )


async def relay(settings: CommonSettings, *items: CrmNotificationReceived) -> list[str]:
    """Put notifications on leads.intake as intake does; their event ids."""
    events = [new_event(n, subject=n.object_id) for n in items]
    records = [(n.object_id.encode(), e.to_bytes()) for n, e in zip(items, events, strict=True)]
    await produce(settings.kafka_bootstrap_servers, settings.topic(topics.INTAKE), records)
    return [e.id for e in events]


def won_deal(hubspot: FakeHubSpot, contact: str) -> str:
    deal = hubspot.seed(
        "deals",
        {
            "dealstage": "closedwon",
            "amount": "24000",
            "closedate": (datetime.now(UTC) - timedelta(hours=1)).isoformat(),
            "hs_is_closed": "true",
            "hs_is_closed_won": "true",
        },
    )
    hubspot.associate("deals", deal, "contacts", contact, 3)
    return deal


def counted(object_type: str, outcome: str) -> float:
    labels = {"object_type": object_type, "outcome": outcome}
    return REGISTRY.get_sample_value("leadloop_hubspot_notifications_total", labels) or 0.0


async def published(engine: AsyncEngine, event_type: str) -> int:
    async with engine.connect() as conn:
        query = sa.select(sa.func.count()).where(outbox.c.event_type == event_type)
        return int((await conn.execute(query)).scalar_one())


async def inbox_rows(engine: AsyncEngine) -> list[sa.Row[Any]]:
    async with engine.connect() as conn:
        return list(await conn.execute(sa.select(crm_inbox)))


async def wait_done(engine: AsyncEngine, count: int = 1) -> list[sa.Row[Any]]:
    async def done() -> bool:
        rows = await inbox_rows(engine)
        return len(rows) == count and all(r.status == "done" for r in rows)

    await wait_for(done, timeout_s=30, what=f"{count} HubSpot notification(s) done")
    return await inbox_rows(engine)


async def test_a_closed_won_deal_shows_in_revenue(
    feedback: httpx.AsyncClient, settings: CommonSettings, hubspot: FakeHubSpot
) -> None:
    await an_sql_in_hubspot(feedback, settings)
    deal = won_deal(hubspot, CONTACT)
    before = counted("deal", "recorded")
    await relay(settings, notification("deal", deal))

    async def in_revenue() -> bool:
        groups = (await feedback.get("/v1/reports/revenue")).json()["groups"]
        return [(g["group"], g["won_revenue"]) for g in groups] == [("q4-webinar", 24000.0)]

    await wait_for(in_revenue, timeout_s=30, what="the deal in the revenue report")
    assert counted("deal", "recorded") == before + 1


async def test_a_logged_call_is_a_touch(
    feedback: httpx.AsyncClient, settings: CommonSettings, hubspot: FakeHubSpot, engine: AsyncEngine
) -> None:
    await an_sql_in_hubspot(feedback, settings)
    at = (datetime.now(UTC) - timedelta(minutes=2)).isoformat()
    call = hubspot.seed("calls", {"hubspot_owner_id": ALICE_OWNER, "hs_timestamp": at})
    hubspot.associate("calls", call, "contacts", CONTACT, 194)
    await relay(settings, notification("call", call))
    rows = await wait_done(engine)
    assert [(r.object_type, r.outcome) for r in rows] == [("call", "recorded")]
    assert await published(engine, "leadloop.lead.touched.v1") == 1


async def test_the_same_notification_twice_is_kept_and_recorded_once(
    feedback: httpx.AsyncClient, settings: CommonSettings, hubspot: FakeHubSpot, engine: AsyncEngine
) -> None:
    await an_sql_in_hubspot(feedback, settings)
    same = notification("deal", won_deal(hubspot, CONTACT))
    event_ids = await relay(settings, same, same)  # intake relayed it twice: two events

    async def both_consumed() -> bool:
        async with engine.connect() as conn:
            query = sa.select(processed_events.c.event_id).where(
                processed_events.c.event_id.in_(event_ids)
            )
            return len(list(await conn.execute(query))) == 2

    await wait_for(both_consumed, timeout_s=30, what="both relays consumed")
    rows = await wait_done(engine)
    assert [(r.event_key, r.outcome) for r in rows] == [(same.event_key, "recorded")]
    assert await published(engine, "leadloop.deal.closed.v1") == 1


async def test_a_rate_limited_read_is_retried_after_retry_after(
    feedback: httpx.AsyncClient, settings: CommonSettings, hubspot: FakeHubSpot, engine: AsyncEngine
) -> None:
    await an_sql_in_hubspot(feedback, settings)
    deal = won_deal(hubspot, CONTACT)
    limited = counted("deal", "rate_limited")
    hubspot.rate_limit_next(retry_after="1")
    await relay(settings, notification("deal", deal))
    rows = await wait_done(engine)
    assert [(r.outcome, r.attempts) for r in rows] == [("recorded", 2)]
    assert counted("deal", "rate_limited") == limited + 1
    reads = hubspot.calls_to("GET", f"/crm/v3/objects/deals/{deal}")
    assert len(reads) == 2
    assert await published(engine, "leadloop.deal.closed.v1") == 1


async def test_an_unknown_contact_ends_the_notification_counted(
    feedback: httpx.AsyncClient, settings: CommonSettings, hubspot: FakeHubSpot, engine: AsyncEngine
) -> None:
    deal = won_deal(hubspot, "999999")
    before = counted("deal", "unknown_lead")
    await relay(settings, notification("deal", deal))
    rows = await wait_done(engine)
    assert [(r.outcome, r.attempts) for r in rows] == [("unknown_lead", 1)]
    assert counted("deal", "unknown_lead") == before + 1
    assert await published(engine, "leadloop.deal.closed.v1") == 0
