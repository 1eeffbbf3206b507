"""The HubSpot inbox over HTTP, on the real broker and Postgres with the fake HubSpot API: the
admin lists notifications by status a page at a time, and a failed one retried is recorded."""

from __future__ import annotations

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from leadloop_platform.settings import CommonSettings
from tests.vendors.hubspot import FakeHubSpot

from ...waiting import wait_for
from .test_hubspot_inbox import (  # noqa: F401 (fixtures)
    CONTACT,
    LEAD,
    an_sql_in_hubspot,
    feedback,
    hubspot,
    inbox_rows,
    notification,
    published,
    relay,
    wait_done,
    won_deal,
)
from .test_hubspot_inbox_erasure import contact_change

INBOX = "/v1/integrations/hubspot/inbox"


async def test_a_failed_notification_is_listed_and_retried(
    feedback: httpx.AsyncClient,  # noqa: F811
    settings: CommonSettings,
    hubspot: FakeHubSpot,  # noqa: F811
    engine: AsyncEngine,
) -> None:
    await an_sql_in_hubspot(feedback, settings)
    deal = notification("deal", won_deal(hubspot, CONTACT))
    hubspot.fail_next(status=400)  # a request HubSpot refuses: never retried by itself

    async def failed() -> bool:
        return [r.status for r in await inbox_rows(engine)] == ["failed"]

    await relay(settings, deal)
    await wait_for(failed, timeout_s=30, what="the notification to fail")
    listed = await feedback.get(INBOX, params={"status": "failed"})
    assert listed.status_code == 200, listed.text
    [row] = listed.json()["items"]
    assert (row["event_key"], row["outcome"], row["attempts"]) == (deal.event_key, "failed", 1)
    assert (await feedback.get(INBOX, params={"status": "done"})).json()["items"] == []

    retried = await feedback.post(f"{INBOX}/{deal.event_key}/retry")
    assert retried.status_code == 200, retried.text
    assert (retried.json()["status"], retried.json()["attempts"]) == ("pending", 0)
    [done] = await wait_done(engine)
    assert (done.outcome, done.lead_id) == ("recorded", LEAD)
    assert await published(engine, "leadloop.deal.closed.v1") == 1


async def test_the_inbox_pages_newest_first_and_an_unknown_key_is_404(
    feedback: httpx.AsyncClient,  # noqa: F811
    settings: CommonSettings,
    engine: AsyncEngine,
) -> None:
    first = contact_change(CONTACT, "firstname", "A")
    await relay(settings, first)
    await wait_done(engine, 1)
    second = contact_change(CONTACT, "lastname", "L")
    await relay(settings, second)
    await wait_done(engine, 2)
    page = await feedback.get(INBOX, params={"limit": 1})
    assert page.status_code == 200, page.text
    assert [r["event_key"] for r in page.json()["items"]] == [second.event_key]
    assert page.headers["link"] == f'<{page.json()["next"]}>; rel="next"'
    last = (await feedback.get(page.json()["next"])).json()
    assert ([r["event_key"] for r in last["items"]], last["next"]) == ([first.event_key], None)
    assert last["items"][0]["contact_ids"] == [CONTACT]

    missing = await feedback.post(f"{INBOX}/hubspot:62515:deal.creation:1:2/retry")
    assert missing.status_code == 404, missing.text
    assert missing.headers["content-type"].startswith("application/problem+json")
