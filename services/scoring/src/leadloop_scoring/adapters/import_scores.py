"""Which captures of a CSV import scoring has scored: a row per `lead.captured` naming an
import, written in the transaction that scored it, so the count is exact (a capture counts
once, when and only when its scoring committed). Rows are kept for a retention, then purged."""

from __future__ import annotations

import functools
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from leadloop_events.envelope import CloudEvent, EventData
from leadloop_events.intake import LeadCaptured
from leadloop_messaging.batch import BatchHandler
from leadloop_runtime import BatchItems, Registry
from leadloop_runtime.registry import EventHandler
from leadloop_scoring.adapters.tables import import_scores
from leadloop_scoring.adapters.uow import SqlUnitOfWork

COUNT = insert(import_scores).on_conflict_do_nothing()
SCORED = sa.select(sa.func.count()).select_from(import_scores)
PURGE_BATCH = 5000
"""Counts deleted per statement: a round deletes batches until fewer are left."""


def counted(handler: EventHandler[SqlUnitOfWork]) -> EventHandler[SqlUnitOfWork]:
    """`handler`, and after it a capture of an import counted as scored."""

    @functools.wraps(handler)
    async def counting(uow: SqlUnitOfWork, event: CloudEvent, data: EventData) -> None:
        await handler(uow, event, data)
        if isinstance(data, LeadCaptured) and data.import_id is not None:
            await uow.conn.execute(COUNT, {"import_id": data.import_id, "event_id": event.id})

    return counting


def counted_runs(handler: BatchHandler[SqlUnitOfWork]) -> BatchHandler[SqlUnitOfWork]:
    """A batch handler, and after it each capture of an import in its run counted as scored
    (one statement for the run; each claimed capture is in one run once)."""

    @functools.wraps(handler)
    async def counting(uow: SqlUnitOfWork, items: BatchItems) -> None:
        await handler(uow, items)
        rows = [
            {"import_id": data.import_id, "event_id": event.id}
            for event, data in items
            if isinstance(data, LeadCaptured) and data.import_id is not None
        ]
        if rows:
            await uow.conn.execute(COUNT, rows)

    return counting


def counting_imports(registry: Registry[SqlUnitOfWork]) -> Registry[SqlUnitOfWork]:
    """The registry with every capture of an import counted where it is scored."""
    return registry.wrapped(counted, counted_runs)


async def scored(conn: AsyncConnection, import_id: str) -> int:
    """How many of the import's captures have been scored."""
    found = await conn.execute(SCORED.where(import_scores.c.import_id == import_id))
    return int(found.scalar_one())


async def purge_scored_before(
    uow: SqlUnitOfWork, before: datetime, limit: int = PURGE_BATCH
) -> int:
    """Delete up to `limit` counts of captures scored before `before`; how many. Rows another
    transaction holds are left to the next round, so replicas purging at once never wait."""
    t = import_scores.c
    doomed = (
        sa.select(t.import_id, t.event_id)
        .where(t.scored_at < before)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    done = await uow.conn.execute(
        import_scores.delete().where(sa.tuple_(t.import_id, t.event_id).in_(doomed))
    )
    return int(done.rowcount)
