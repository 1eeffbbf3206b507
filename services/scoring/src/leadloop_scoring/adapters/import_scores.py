"""Which captures of a CSV import scoring has scored: a row per `lead.captured` naming an
import, written in the transaction that scored it, so the count is exact (a capture counts
once, when and only when its scoring committed)."""

from __future__ import annotations

import functools

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from leadloop_events.envelope import CloudEvent, EventData
from leadloop_events.intake import LeadCaptured
from leadloop_runtime import Registry
from leadloop_runtime.registry import EventHandler
from leadloop_scoring.adapters.tables import import_scores
from leadloop_scoring.adapters.uow import SqlUnitOfWork

COUNT = insert(import_scores).on_conflict_do_nothing()
SCORED = sa.select(sa.func.count()).select_from(import_scores)


def counted(handler: EventHandler[SqlUnitOfWork]) -> EventHandler[SqlUnitOfWork]:
    """`handler`, and after it a capture of an import counted as scored."""

    @functools.wraps(handler)
    async def counting(uow: SqlUnitOfWork, event: CloudEvent, data: EventData) -> None:
        await handler(uow, event, data)
        if isinstance(data, LeadCaptured) and data.import_id is not None:
            await uow.conn.execute(COUNT, {"import_id": data.import_id, "event_id": event.id})

    return counting


def counting_imports(registry: Registry[SqlUnitOfWork]) -> Registry[SqlUnitOfWork]:
    """The registry with every capture of an import counted where it is scored."""
    return registry.wrapped(counted)


async def scored(conn: AsyncConnection, import_id: str) -> int:
    """How many of the import's captures have been scored."""
    found = await conn.execute(SCORED.where(import_scores.c.import_id == import_id))
    return int(found.scalar_one())
