"""The read side of the journey: one lead's story, the newest hand-offs and breaches, the
agreements published in a period."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from leadloop_feedback.adapters.queries import Row, rows
from leadloop_feedback.adapters.tables import agreements, journey
from leadloop_feedback.domain.period import Period


async def journey_of(conn: AsyncConnection, lead_id: str) -> list[Row]:
    """One lead's journey lines, oldest first."""
    lines = await rows(
        conn,
        sa.select(journey)
        .where(journey.c.lead_id == lead_id)
        .order_by(journey.c.at, journey.c.event_id),
    )
    return [{"at": r["at"], "type": r["event_type"], "summary": r["summary"]} for r in lines]


HANDOFF_TYPES = ("leadloop.lead.assigned.v1", "leadloop.lead.reassigned.v1")
BREACH_TYPES = ("leadloop.lead.sla_breached.v1",)


async def latest(conn: AsyncConnection, event_types: tuple[str, ...], limit: int) -> list[Row]:
    """The newest journey lines of the given types, newest first."""
    found = await rows(
        conn,
        sa.select(journey)
        .where(journey.c.event_type.in_(event_types))
        .order_by(journey.c.at.desc(), journey.c.event_id)
        .limit(limit),
    )
    return [{"at": r["at"], "lead_id": r["lead_id"], "summary": r["summary"]} for r in found]


async def agreements_published(conn: AsyncConnection, p: Period) -> list[Row]:
    """The agreement versions published in the period, in order."""
    return await rows(
        conn,
        sa.select(agreements.c.version, agreements.c.published_at)
        .where(agreements.c.published_at >= p.start, agreements.c.published_at < p.end)
        .order_by(agreements.c.published_at),
    )
