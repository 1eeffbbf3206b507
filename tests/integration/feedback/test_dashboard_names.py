"""The dashboard speaks in names (#14.16): reps by name, each hand-off with the lead's company
and a link to its journey, times machine-readable and labelled (UTC without script), no "every
hand-off touched" while one is not."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import httpx

from leadloop_events import topics
from leadloop_platform.auth.guard import SESSION_COOKIE
from leadloop_platform.settings import CommonSettings

from ...waiting import wait_for
from .support import KEY, captured, handed, send

NOW = datetime.now(UTC)
LEAD = "lead-names-1"


async def test_hand_offs_show_the_reps_name_the_company_and_a_journey_link(
    feedback: httpx.AsyncClient, settings: CommonSettings
) -> None:
    t = NOW - timedelta(hours=2)
    first = captured(LEAD, "s-names-1", campaign="q4-webinar", submitted_at=t)
    assigned = handed(
        LEAD,
        "rep-bruno",
        assignment_id="a-names-1",
        owner_name="Bruno Berger",
        sla_deadline=NOW + timedelta(hours=1),
        assigned_at=t,
    )
    await send(settings, topics.INTAKE, first)
    await send(settings, topics.HANDOFF, assigned)

    async def shown() -> bool:
        panels = (await feedback.get("/dashboard/panels")).json()["panels"]
        return "Bruno Berger" in panels["handoffs"] and "ACME Dental" in panels["handoffs"]

    await wait_for(shown, timeout_s=30, what="the hand-off with the rep's name")
    panels = (await feedback.get("/dashboard/panels")).json()["panels"]
    handoffs = panels["handoffs"]
    assert "rep-bruno" not in handoffs
    assert f'href="/v1/leads/{LEAD}/journey">ACME Dental</a>' in handoffs
    assert "ana@acme-dental.com" not in handoffs
    # labelled UTC for a browser without script (the viewer's zone: test_dashboard_times.py)
    stamp = r'<time datetime="[^"]+" data-style="datetime">\d\d \w{3} \d\d:\d\d UTC</time>'
    assert re.search(stamp, handoffs)
    assert "No breach yet; 1 hand-off not yet touched." in panels["breaches"]
    assert "every hand-off was touched in time" not in panels["breaches"]
    assert "linear attribution" in panels["sources"]

    review = await feedback.get("/v1/reviews/weekly", params={"format": "markdown"})
    assert "| Bruno Berger |" in review.text and "rep-bruno" not in review.text

    # the dashboard's session follows the link (tests/unit/test_session_paths.py: no more)
    signed = await feedback.post("/dashboard/session", data={"api_key": KEY})
    cookie = {"cookie": f"{SESSION_COOKIE}={signed.cookies[SESSION_COOKIE]}"}
    anonymous = httpx.AsyncClient(transport=feedback._transport, base_url="http://feedback")
    async with anonymous:
        journey = await anonymous.get(f"/v1/leads/{LEAD}/journey", headers=cookie)
        assert journey.status_code == 200, journey.text
        assert "ana@" not in journey.text
