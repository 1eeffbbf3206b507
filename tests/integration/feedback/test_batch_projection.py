"""Feedback's projection of a consumer batch on the real PostgreSQL: 200 mixed events applied in
ONE transaction (the consumer's `apply_batch`) leave exactly the read-model rows that applying
them one by one (a transaction each) leaves: leads, journey, stage events, assignments, reps,
identities, touches, statuses, deals, agreements (all but the wall-clock `updated_at`)."""

from __future__ import annotations

import asyncio
import functools
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from leadloop_db.engine import make_engine
from leadloop_events.envelope import CloudEvent, new_event
from leadloop_events.intake import ActivityRecorded, LeadCaptured, LeadErased
from leadloop_feedback import handlers
from leadloop_feedback.adapters import tables
from leadloop_feedback.adapters.tables import outbox, processed_events
from leadloop_feedback.adapters.uow import SqlUnitOfWork
from leadloop_messaging.batch import Item, SqlLedger, apply_batch

from ...waiting import wait_for
from .mixed_batch import consumer_items, mixed_batch
from .support import INTEL, T0, captured, handed

READ_MODEL = (
    tables.leads,
    tables.journey,
    tables.stage_events,
    tables.assignments,
    tables.reps,
    tables.lead_identities,
    tables.rep_identities,
    tables.touches,
    tables.statuses,
    tables.deals,
    tables.agreements,
)
WALL_CLOCK = {"updated_at"}


async def project(url: str, batches: list[list[Item[SqlUnitOfWork]]]) -> dict[str, list[Any]]:
    """Apply each batch in its own transaction; every read-model table's rows, sorted."""
    engine = make_engine(url, pool_size=2)
    try:
        ledger = SqlLedger(processed_events, "feedback")
        uow = functools.partial(SqlUnitOfWork, engine, outbox, "")
        for batch in batches:
            applied = await apply_batch(uow, ledger, batch)
            assert set(applied.outcomes) == {"ok"}
        async with engine.connect() as conn:
            return {
                table.name: sorted(
                    tuple(map(repr, row))
                    for row in await conn.execute(
                        sa.select(*[c for c in table.c if c.name not in WALL_CLOCK])
                    )
                )
                for table in READ_MODEL
            }
    finally:
        await engine.dispose()


@pytest.mark.parametrize("seed", [17, 4])
async def test_a_batch_in_one_transaction_projects_what_one_by_one_does(
    database_url: str, other_database_url: str, seed: int
) -> None:
    events = mixed_batch(seed=seed, size=200)
    erased = [e for e in events if e.type == LeadErased.event_type]
    assert len(erased) == 1
    after = events[events.index(erased[0]) + 1 :]
    assert any(e.subject == erased[0].subject for e in after)  # events about it come later
    items = consumer_items(events)
    one_by_one = await project(database_url, [[item] for item in items])
    batched = await project(other_database_url, [items])
    for table in READ_MODEL:
        assert batched[table.name] == one_by_one[table.name], table.name
    lead = repr(erased[0].subject)
    story = {r[0] for r in batched["journey"] if r[1] == lead}
    assert story and story <= {repr(e.id) for e in after}  # the erasure took what came before
    assert not [r for r in batched["lead_identities"] if r[2] == lead]
    assert all(len(batched[t.name]) > 0 for t in READ_MODEL)


async def test_batches_naming_the_same_reps_in_opposite_orders_never_wait_on_each_other(
    database_url: str,
) -> None:
    # Two partitions' batches hand leads to the same reps in opposite orders. Written as each
    # event came, the second batch waited on the first's rep row while holding the other one:
    # a deadlock (a 1 s stall, then a retry). Written at commit in rep order, neither waits.
    engine = make_engine(database_url, pool_size=2)

    async def hand(uow: SqlUnitOfWork, lead_id: str, rep_id: str) -> None:
        email = f"{rep_id}@northwind.example"
        profile = INTEL.profile.model_copy(update={"email": f"{lead_id}@acme.example"})
        intel = INTEL.model_copy(update={"profile": profile})
        data = handed(
            lead_id, rep_id, owner_name=rep_id.title(), owner_email=email, intelligence=intel
        )
        event = new_event(data, subject=lead_id)
        await asyncio.wait_for(handlers.project_assignment(uow, event, data), timeout=10)

    try:
        async with (
            SqlUnitOfWork(engine, outbox, "") as first,
            SqlUnitOfWork(engine, outbox, "") as second,
        ):
            await hand(first, "lead-1", "rep-ana")
            await hand(second, "lead-2", "rep-ben")
            await hand(first, "lead-3", "rep-ben")
            await hand(second, "lead-4", "rep-ana")
            await asyncio.gather(first.commit(), second.commit())
        async with engine.connect() as conn:
            reps = (await conn.execute(sa.select(tables.reps.c.rep_id, tables.reps.c.name))).all()
            owners = await conn.scalars(sa.select(tables.rep_identities.c.rep_id))
            assert sorted(map(tuple, reps)) == [("rep-ana", "Rep-Ana"), ("rep-ben", "Rep-Ben")]
            assert sorted(owners) == ["rep-ana", "rep-ben"]
    finally:
        await engine.dispose()


async def test_batches_about_the_same_leads_in_opposite_orders_never_deadlock(
    database_url: str,
) -> None:
    # Two batches (another topic's, say) credit the same two leads in opposite orders. Written
    # in event order, each held one lead's row and waited for the other's: a deadlock. Locked
    # first, in lead order (`prepare`), the second batch waits for the first, then goes on.
    engine = make_engine(database_url, pool_size=2)
    leads = ["lead-1", "lead-2"]

    def credit(lead_id: str, n: int) -> tuple[CloudEvent, ActivityRecorded]:
        data = ActivityRecorded(
            lead_id=lead_id,
            activity_id=f"act-{lead_id}-{n}",
            activity_type="webinar_attended",
            occurred_at=T0,
            campaign=f"campaign-{n}",
        )
        return new_event(data, subject=lead_id), data

    async def apply(uow: SqlUnitOfWork, items: list[tuple[CloudEvent, ActivityRecorded]]) -> None:
        for event, data in items:
            await handlers.project_activity(uow, event, data)

    try:
        async with SqlUnitOfWork(engine, outbox, "") as setup:
            for lead_id in leads:
                await handlers.project_capture(setup, *captured_event(lead_id))
            await setup.commit()
        first_items = [credit("lead-1", 1), credit("lead-2", 1)]
        second_items = [credit("lead-2", 2), credit("lead-1", 2)]
        async with SqlUnitOfWork(engine, outbox, "") as first:
            await first.prepare([event for event, _ in first_items])
            await apply(first, first_items[:1])

            async def second_batch() -> None:
                async with SqlUnitOfWork(engine, outbox, "") as second:
                    await second.prepare([event for event, _ in second_items])
                    await apply(second, second_items)
                    await second.commit()

            second = asyncio.create_task(second_batch())
            await wait_for(
                functools.partial(waiting_on_a_lock, engine, second),
                what="the second batch to wait for a lead the first holds",
            )
            await apply(first, first_items[1:])
            await first.commit()
        await asyncio.wait_for(second, timeout=10)
        async with engine.connect() as conn:
            rows = await conn.execute(sa.select(tables.leads.c.lead_id, tables.leads.c.campaigns))
            credited = {lead_id: sorted(c[1:]) for lead_id, c in rows}
        assert credited == {lead: ["campaign-1", "campaign-2"] for lead in leads}
    finally:
        await engine.dispose()


async def waiting_on_a_lock(engine: AsyncEngine, task: asyncio.Task[None]) -> bool:
    """Whether a transaction of this database waits for a row lock (or `task` ended: its
    failure then shows)."""
    if task.done():
        return True
    async with engine.connect() as conn:
        waiting = await conn.scalar(
            sa.text(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
        )
    return bool(waiting)


def captured_event(lead_id: str) -> tuple[CloudEvent, LeadCaptured]:
    data = captured(lead_id, campaign="webinar-q4")
    return new_event(data, subject=lead_id), data
