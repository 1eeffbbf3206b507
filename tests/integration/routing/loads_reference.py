"""The reference for routing's open-load counters: the query `loads` ran before the counters
(#17), reading every open or touched assignment ever made, kept here to check them against."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, time

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from leadloop_routing.adapters.tables import assignments
from leadloop_routing.domain.model import Load, Rep


async def loads_from_history(
    conn: AsyncConnection, reps: Sequence[Rep], now: datetime
) -> dict[str, Load]:
    """Open SQLs per rep recounted from the assignments: since their local midnight, in total."""
    a = assignments
    rows = await conn.execute(
        sa.select(a.c.rep_id, a.c.assigned_at).where(
            a.c.status.in_(("open", "touched")), a.c.rep_id.is_not(None)
        )
    )
    by_rep: dict[str, list[datetime]] = {}
    for row in rows:
        by_rep.setdefault(row.rep_id, []).append(row.assigned_at)
    out: dict[str, Load] = {}
    for rep in reps:
        zone = rep.calendar.zone
        day_start = datetime.combine(now.astimezone(zone).date(), time(0), zone)
        times = by_rep.get(rep.rep_id, [])
        out[rep.rep_id] = Load(today=sum(1 for t in times if t >= day_start), total=len(times))
    return out
