"""Scoring's batch handler on the real PostgreSQL: a seeded random run of captures and
activities (leads repeated, an activity id repeated, leads known before, one erased, one new)
applied in one call of `score_lead_events` leaves exactly the rows that `score_captured_lead`
and `record_activity` applied one by one do, and publishes their events in their order less each
lead's `lead.scored` but its last (#17: a lead's score announced once per run); both in one
transaction on the same database, each rolled back after it is read."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from leadloop_contract.agreement import EXAMPLE_FILE
from leadloop_db.engine import make_engine
from leadloop_events.envelope import CloudEvent, EventData, new_event
from leadloop_events.intake import ActivityRecorded, LeadCaptured, LeadErased
from leadloop_scoring.adapters import tables
from leadloop_scoring.adapters.tables import outbox
from leadloop_scoring.adapters.uow import SqlUnitOfWork
from leadloop_scoring.agreement_handlers import PublishAgreement, publish_agreement
from leadloop_scoring.batch_handlers import score_lead_events
from leadloop_scoring.handlers import (
    Context,
    erase_lead,
    record_activity,
    score_captured_lead,
)
from tests.unit.scoring.factories import person

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
KINDS = ("page_view", "pricing_page_view", "webinar_attended", "demo_request", "content_download")
CAMPAIGNS = (None, "q4-dental-webinar", "trade-show-berlin")
KNOWN, WITH_HISTORY, ERASED = "lead-ACME-DENTAL", "lead-GLOBEX", "lead-INITECH"
LEADS = (KNOWN, WITH_HISTORY, ERASED, "lead-UMBRELLA-new", "lead-HOOLI-new")
SCORED = "leadloop.lead.scored.v1"
STATE = (tables.leads, tables.activities, tables.score_history, tables.stage_history)
Events = list[tuple[CloudEvent, EventData]]


def capture(rng: random.Random, lead: str) -> tuple[CloudEvent, EventData]:
    data = LeadCaptured(
        lead_id=lead,
        submission_id=f"sub-{rng.randrange(10**9)}",
        is_new_lead=False,
        channel="form",
        profile=person(
            email=f"{lead.lower()}@acme-dental.com",
            company_size=rng.choice((8, 30, 240)),
            job_title=rng.choice(("Head of Operations", "Student", "Operations Analyst")),
        ),
        source=rng.choice(("webinar", "trade-show", "website")),
        campaign=rng.choice(CAMPAIGNS),
        submitted_at=NOW - timedelta(days=rng.uniform(0, 20)),
        external_ids={"hubspot": str(rng.randrange(100))} if rng.random() < 0.3 else {},
    )
    return new_event(
        data, source="/leadloop/intake", subject=lead, correlation_id=f"c-{lead}"
    ), data


def activity(rng: random.Random, lead: str, activity_id: str) -> tuple[CloudEvent, EventData]:
    data = ActivityRecorded(
        lead_id=lead,
        activity_id=activity_id,
        activity_type=rng.choice(KINDS),
        occurred_at=NOW - timedelta(days=rng.uniform(0, 40), microseconds=rng.randrange(10**6)),
        url=f"https://northwind.example/{rng.randrange(9)}",
        campaign=rng.choice(CAMPAIGNS),
    )
    return new_event(
        data, source="/leadloop/intake", subject=lead, correlation_id=f"c-{lead}"
    ), data


def mixed_run(seed: int, size: int = 60) -> Events:
    """Captures and activities of the five leads in random order; some activity ids repeat."""
    rng = random.Random(seed)
    run: Events = []
    for n in range(size):
        lead = rng.choice(LEADS)
        if rng.random() < 0.3:
            run.append(capture(rng, lead))
        else:
            repeat = [d.activity_id for _, d in run if isinstance(d, ActivityRecorded)]
            again = repeat and rng.random() < 0.1
            run.append(activity(rng, lead, rng.choice(repeat) if again else f"act-{seed}-{n}"))
    return run


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    """Scoring's database with the example agreement, two known leads and an erased one."""
    engine = make_engine(database_url, pool_size=2)
    context, rng = Context(clock=lambda: NOW - timedelta(days=1)), random.Random(1)
    async with SqlUnitOfWork(engine, outbox, "") as uow:
        await publish_agreement(uow, PublishAgreement(EXAMPLE_FILE.read_text(), "test"))
        for lead in (KNOWN, WITH_HISTORY, ERASED):
            event, data = capture(rng, lead)
            await score_captured_lead(uow, event, data, context)  # type: ignore[arg-type]
        for n in range(3):
            event, data = activity(rng, WITH_HISTORY, f"act-before-{n}")
            await record_activity(uow, event, data, context)  # type: ignore[arg-type]
        gone = LeadErased(lead_id=ERASED, erased_at=NOW - timedelta(hours=1), reason="asked")
        await erase_lead(uow, new_event(gone, subject=ERASED), gone)
        await uow.commit()
    yield engine
    await engine.dispose()


Apply = Callable[[SqlUnitOfWork, Events, Context], Awaitable[None]]


async def one_by_one(uow: SqlUnitOfWork, run: Events, context: Context) -> None:
    for event, data in run:
        uow.next_step()
        if isinstance(data, LeadCaptured):
            await score_captured_lead(uow, event, data, context)
        else:
            assert isinstance(data, ActivityRecorded)
            await record_activity(uow, event, data, context)


async def as_one_run(uow: SqlUnitOfWork, run: Events, context: Context) -> None:
    uow.next_step()
    await score_lead_events(uow, run, context)


async def outcome(engine: AsyncEngine, apply: Apply, run: Events) -> dict[str, Any]:
    """What applying the run leaves in scoring's tables and publishes; then rolled back."""
    context = Context(clock=lambda: NOW)
    async with SqlUnitOfWork(engine, outbox, "") as uow:
        await apply(uow, run, context)
        found: dict[str, Any] = {"events": [_event(t, e) for t, e in uow.pending()]}
        for table in STATE:
            columns = [c for c in table.columns if c.name != "id"]
            order = [c for c in table.primary_key.columns if c.name != "id"] or [table.c.lead_id]
            query = sa.select(*columns).order_by(*order, *table.primary_key.columns)
            found[table.name] = [dict(r._mapping) for r in await uow.conn.execute(query)]
    return found


def _event(topic: str, event: CloudEvent) -> tuple[Any, ...]:
    return topic, event.type, event.subject, event.correlationid, event.data


def announced_once(events: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """`events` less every lead's `lead.scored` that a later one supersedes."""
    last = {e[2]: n for n, e in enumerate(events) if e[1] == SCORED}
    return [e for n, e in enumerate(events) if e[1] != SCORED or last[e[2]] == n]


@pytest.mark.parametrize("seed", [17, 2026])
async def test_a_run_leaves_what_one_by_one_leaves_and_announces_each_score_once(
    engine: AsyncEngine, seed: int
) -> None:
    run = mixed_run(seed)
    expected = await outcome(engine, one_by_one, run)
    got = await outcome(engine, as_one_run, run)
    for what in ("leads", "activities", "score_history", "stage_history"):
        assert got[what] == expected[what], what
    assert got["events"] == announced_once(expected["events"])
    # The run did something worth comparing: scores superseded, moves, a lead skipped as erased.
    types = [e[1] for e in expected["events"]]
    assert "leadloop.lead.stage_changed.v1" in types
    assert [e[1] for e in got["events"]].count(SCORED) == len(LEADS) - 1 < types.count(SCORED)
    assert all(e[2] != ERASED for e in expected["events"])
    assert len({r["lead_id"] for r in expected["leads"]}) == len(LEADS)
