"""The HubSpot inbox and erasure, on the real broker and Postgres with the fake HubSpot API: an
erased lead's inbox rows go, those resolved to it and those naming its contact id alike."""

from __future__ import annotations

from datetime import timedelta

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from leadloop_events import topics
from leadloop_events.intake import CrmNotificationReceived, LeadErased
from leadloop_platform.settings import CommonSettings
from tests.vendors.hubspot import FakeHubSpot

from ...waiting import wait_for
from .support import T0, send
from .test_hubspot_inbox import (  # noqa: F401 (fixtures)
    CONTACT,
    LEAD,
    an_sql_in_hubspot,
    feedback,
    hubspot,
    inbox_rows,
    notification,
    relay,
    wait_done,
    won_deal,
)


def contact_change(contact: str, name: str, value: str) -> CrmNotificationReceived:
    return notification(
        "contact",
        contact,
        subscription_type="contact.propertyChange",
        property_name=name,
        property_value=value,
        event_key=f"hubspot:62515:contact.propertyChange:{contact}:{name}",
    )


async def test_erasure_deletes_the_rows_about_the_lead(
    feedback: httpx.AsyncClient,  # noqa: F811
    settings: CommonSettings,
    hubspot: FakeHubSpot,  # noqa: F811
    engine: AsyncEngine,
) -> None:
    early, stranger = won_deal(hubspot, CONTACT), won_deal(hubspot, "999999")
    # a deal read before leadloop knew the contact, and one of a contact it never knows
    await relay(settings, notification("deal", early), notification("deal", stranger))
    await wait_done(engine, 2)
    await an_sql_in_hubspot(feedback, settings)
    resolved = won_deal(hubspot, CONTACT)
    await relay(settings, notification("deal", resolved), contact_change(CONTACT, "firstname", "A"))
    rows = {r.event_key: (r.outcome, r.lead_id, r.contact_ids) for r in await wait_done(engine, 4)}
    assert sorted(rows.values(), key=repr) == sorted(
        [
            ("unknown_lead", None, [CONTACT]),
            ("unknown_lead", None, ["999999"]),
            ("recorded", LEAD, [CONTACT]),
            ("skipped", None, [CONTACT]),
        ],
        key=repr,
    )
    await send(settings, topics.INTAKE, LeadErased(lead_id=LEAD, erased_at=T0 + timedelta(days=3)))

    async def forgotten() -> bool:
        return [r.object_id for r in await inbox_rows(engine)] == [stranger]

    await wait_for(forgotten, timeout_s=30, what="the erasure to delete the lead's inbox rows")
