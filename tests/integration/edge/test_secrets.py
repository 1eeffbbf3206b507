"""An empty or placeholder signing secret is "not configured", never a key: the red team signed
HubSpot and CRM calls with the key b"" (what `LEADLOOP_HUBSPOT_CLIENT_SECRET=""` and
`LEADLOOP_CRM_WEBHOOK_SECRET=""` or `whsec_` turned into) and had them accepted (202)."""

from __future__ import annotations

import time

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from leadloop_events import topics
from leadloop_events.intake import LeadCaptured
from leadloop_feedback.adapters import tables as feedback_tables
from leadloop_intake.adapters import tables as intake_tables
from leadloop_platform.settings import CommonSettings

from ...waiting import wait_for
from ..feedback.support import PROFILE, T0, send
from .conftest import assert_problem, build_app, running
from .test_signatures import CONTACT, HUBSPOT_URL, count, crm_headers, hubspot_headers, touch


@pytest.mark.parametrize("blank", ["", "  ", "changeme"])
async def test_hubspot_signed_with_an_empty_key_is_not_configured(
    settings: CommonSettings, engine: AsyncEngine, blank: str
) -> None:
    app = build_app("intake", settings, run_relay=False, hubspot_client_secret=blank)
    now = int(time.time() * 1000)
    forged = hubspot_headers(CONTACT, HUBSPOT_URL, now, secret=blank)
    async with running(app, "http://intake") as http:
        r = await http.post(HUBSPOT_URL, content=CONTACT, headers=forged)
    body = assert_problem(r, 503)
    assert "LEADLOOP_HUBSPOT_CLIENT_SECRET" in body["detail"]
    t = intake_tables
    assert await count(engine, t.leads, t.submissions, t.outbox) == [0, 0, 0]


async def test_crm_call_signed_with_an_empty_key_is_refused(
    settings: CommonSettings, engine: AsyncEngine
) -> None:
    app = build_app("feedback", settings, run_relay=False, crm_webhook_secret="whsec_")
    captured = LeadCaptured(
        lead_id="lead-ACME-DENTAL",
        submission_id="sub-1",
        is_new_lead=True,
        channel="form",
        profile=PROFILE,
        source="webinar",
        submitted_at=T0,
    )
    async with running(app, "http://feedback") as http:
        await send(settings, topics.INTAKE, captured)

        async def lead_known() -> bool:
            return (await count(engine, feedback_tables.leads)) == [1]

        await wait_for(lead_known, what="feedback to learn the lead from leads.intake")
        now = int(time.time())
        for n, blank in enumerate(["whsec_", ""]):
            body = touch(f"t-forged-{n}")
            forged = crm_headers(body, f"msg-{n}", now, secret=blank)
            r = await http.post("/v1/crm/touches", content=body, headers=forged)
            # No secret is configured: a call that relies on a signature finds it not configured.
            problem = assert_problem(r, 503)
            assert "LEADLOOP_CRM_WEBHOOK_SECRET" in problem["detail"]
    t = feedback_tables
    async with engine.connect() as conn:
        assert await conn.scalar(sa.select(sa.func.count()).select_from(t.crm_requests)) == 0
