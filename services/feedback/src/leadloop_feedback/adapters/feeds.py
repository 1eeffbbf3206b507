"""The read side of the journey: one lead's story, the newest hand-offs and breaches, the
agreements published in a period."""

from __future__ import annotations

import re

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from leadloop_feedback.adapters.queries import Row, rows
from leadloop_feedback.adapters.tables import (
    agreements,
    assignments,
    journey,
    leads,
    reps,
    touches,
)
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
    """The newest journey lines of the given types, newest first, each with the lead's company
    and every rep named by name (by id when routing gave no name)."""
    found = await rows(
        conn,
        sa.select(journey, leads.c.company)
        .outerjoin(leads, leads.c.lead_id == journey.c.lead_id)
        .where(journey.c.event_type.in_(event_types))
        .order_by(journey.c.at.desc(), journey.c.event_id)
        .limit(limit),
    )
    names = await rep_names(conn)
    return [
        {
            "at": r["at"],
            "lead_id": r["lead_id"],
            "company": r["company"],
            "summary": named(r["summary"], names),
        }
        for r in found
    ]


def named(text: str, names: dict[str, str]) -> str:
    """The text with each rep's id (a whole token) replaced by the rep's name."""
    if not names:
        return text
    ids = sorted(names, key=len, reverse=True)
    pattern = "|".join(re.escape(i) for i in ids)
    return re.sub(rf"(?<![\w.-])(?:{pattern})(?![\w-])", lambda m: names[m.group(0)], text)


async def rep_names(conn: AsyncConnection) -> dict[str, str]:
    """Every named rep's name by id."""
    found = await rows(conn, sa.select(reps.c.rep_id, reps.c.name).where(reps.c.name.isnot(None)))
    return {r["rep_id"]: r["name"] for r in found}


async def untouched(conn: AsyncConnection) -> int:
    """Hand-offs no rep has touched yet (none of them has breached, or it would be listed)."""
    touched = sa.select(touches.c.lead_id).where(
        touches.c.lead_id == assignments.c.lead_id,
        touches.c.touched_at >= assignments.c.assigned_at,
    )
    query = sa.select(sa.func.count()).select_from(assignments).where(~sa.exists(touched))
    return int((await conn.execute(query)).scalar_one())


async def agreements_published(conn: AsyncConnection, p: Period) -> list[Row]:
    """The agreement versions published in the period, in order."""
    return await rows(
        conn,
        sa.select(agreements.c.version, agreements.c.published_at)
        .where(agreements.c.published_at >= p.start, agreements.c.published_at < p.end)
        .order_by(agreements.c.published_at),
    )
