"""A lead's many campaigns on real Postgres: scoring keeps them all, loads and hands off only
the most recent 100 (issue #12, item 3: 6,000 campaigns made a 1.2 MB stage_changed)."""

from __future__ import annotations

import functools
import json
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from leadloop_contract.agreement import EXAMPLE_FILE
from leadloop_events.bounds import MAX_ITEMS
from leadloop_events.envelope import CloudEvent, new_event
from leadloop_events.intake import ActivityRecorded, LeadCaptured, LeadProfile
from leadloop_platform.settings import CommonSettings
from leadloop_scoring.adapters.tables import leads, outbox
from leadloop_scoring.adapters.uow import SqlUnitOfWork
from leadloop_scoring.agreement_handlers import PublishAgreement, publish_agreement
from leadloop_scoring.handlers import (
    Context,
    record_activity,
    score_captured_lead,
)

LEAD = "lead-ana-many-campaigns"
ANA = LeadProfile(
    email="ana.lopez@acme-dental.com",
    company="ACME Dental",
    company_size=240,
    industry="Healthcare",
    country="DE",
    job_title="Head of Operations",
)
CAMPAIGNS = [f"campaign-{i:03d}" for i in range(150)]


def captured(campaign: str, at: datetime) -> tuple[CloudEvent, LeadCaptured]:
    data = LeadCaptured(
        lead_id=LEAD,
        submission_id=f"sub-{campaign[:40]}",
        is_new_lead=False,
        channel="form",
        profile=ANA,
        source="webinar",
        campaign=campaign,
        submitted_at=at,
    )
    return new_event(data, subject=LEAD), data


async def test_150_campaigns_are_kept_and_the_sql_carries_the_100_most_recent(
    settings: CommonSettings, engine: AsyncEngine
) -> None:
    uow = functools.partial(SqlUnitOfWork, engine, outbox, settings.topic_prefix)
    context = Context(timeline_limit=25, history_limit=500)
    async with uow() as u:
        await publish_agreement(u, PublishAgreement(EXAMPLE_FILE.read_text(), "test"))
        await u.commit()
    start = datetime.now(UTC) - timedelta(hours=3)
    for i, campaign in enumerate([*CAMPAIGNS, CAMPAIGNS[0]]):  # the first one seen again
        event, data = captured(campaign, start + timedelta(seconds=i))
        async with uow() as u:
            await score_captured_lead(u, event, data, context)
            await u.commit()
    demo = ActivityRecorded(
        lead_id=LEAD,
        activity_id="act-ana-demo",
        activity_type="demo_request",
        occurred_at=datetime.now(UTC),
        campaign="demo-page",
    )
    async with uow() as u:
        await record_activity(u, new_event(demo, subject=LEAD), demo, context)
        await u.commit()

    async with engine.connect() as conn:
        kept = await conn.scalar(sa.select(leads.c.campaigns).where(leads.c.lead_id == LEAD))
        payloads = (
            await conn.execute(
                sa.select(outbox.c.payload).where(
                    outbox.c.event_type == "leadloop.lead.stage_changed.v1"
                )
            )
        ).scalars()
        changes = [json.loads(p)["data"] for p in payloads]
    assert kept == [*CAMPAIGNS, "demo-page"], "scoring keeps every campaign, each once"
    [sql] = [c for c in changes if c["to_stage"] == "sql"]
    campaigns = sql["intelligence"]["campaigns"]
    assert len(campaigns) == MAX_ITEMS
    assert campaigns == [*CAMPAIGNS[-(MAX_ITEMS - 1) :], "demo-page"]
    assert sql["first_campaign"] == "campaign-000"

    async with uow() as u:
        record = await u.repo.lead_for_update(LEAD)
    assert record is not None and record.campaigns == campaigns, "only the recent ones load"


async def test_sources_and_campaigns_longer_than_their_columns_are_cut_not_fatal(
    settings: CommonSettings, engine: AsyncEngine
) -> None:
    uow = functools.partial(SqlUnitOfWork, engine, outbox, settings.topic_prefix)
    context = Context(timeline_limit=25, history_limit=500)
    async with uow() as u:
        await publish_agreement(u, PublishAgreement(EXAMPLE_FILE.read_text(), "test"))
        await u.commit()
    long_campaign, long_source = "c" * 500, "s" * 500  # the most intake lets through
    event, data = captured(long_campaign, datetime.now(UTC))
    data = data.model_copy(update={"source": long_source})
    activity = ActivityRecorded(
        lead_id=LEAD,
        activity_id="act-ana-long",
        activity_type="page_view",
        occurred_at=datetime.now(UTC),
        campaign="d" * 500,
    )
    async with uow() as u:
        await score_captured_lead(u, event, data, context)
        await record_activity(u, new_event(activity, subject=LEAD), activity, context)
        await u.commit()
    async with engine.connect() as conn:
        row = (await conn.execute(sa.select(leads).where(leads.c.lead_id == LEAD))).one()
    assert row.sources == ["s" * 100] and row.first_source == "s" * 100
    assert row.campaigns == ["c" * 200, "d" * 200] and row.first_campaign == "c" * 200
