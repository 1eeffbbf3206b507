"""`--history N` for the loop bench: N historical assignments in routing's table before the run,
so the hand-off is measured with a past behind it (#17: the same p50 with 1,000,000).

Each is a lead followed up long ago: owned by one of the bench's reps (round the reps), status
`touched` (routing's last status for a lead sales took; routing keeps no later one), assigned
over the past year and touched ten minutes later, its intelligence gone as after an erasure.
Written straight into the table, in chunks, then the reps' open-load counters are counted
again from it (the writes the services make keep them; this one bypasses the services).
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from .seeding import in_chunks

CHUNK = 100_000
SEED = sa.text(
    """
    INSERT INTO routing.assignments (
        assignment_id, lead_id, team, rep_id, business, status, agreement_version, decision,
        assigned_at, sla_deadline, first_touch_at, history)
    SELECT md5('history-' || g), 'history-' || g, r.team, r.rep_id, 'new', 'touched',
           'history', jsonb_build_object('team', r.team, 'business', 'new', 'rep_id', r.rep_id,
                                         'path', jsonb_build_array('history')),
           t.at, t.at + interval '1 hour', t.at + interval '10 minutes', '[]'::jsonb
    FROM generate_series(CAST(:first AS bigint), CAST(:last AS bigint)) AS g
    JOIN (SELECT rep_id, coalesce(teams[1], 'history') AS team,
                 row_number() OVER (ORDER BY rep_id) - 1 AS i,
                 count(*) OVER () AS n
          FROM routing.reps) AS r ON r.i = g % r.n
    CROSS JOIN LATERAL (
        SELECT now() - interval '1 day' - interval '365 days' * (g / CAST(:total AS float8)) AS at
    ) AS t
    """
)
# The counters (routing_0006) counted again for every rep, in their zone: the migration's
# backfill. Skipped on a schema without them (measuring the code before the counters).
RECOUNT = sa.text(
    """
    UPDATE routing.rep_loads AS l
    SET open_total = s.total, day = s.last, day_count = s.on_last
    FROM (
        SELECT rep_id, count(local) AS total, max(local) AS last,
               count(*) FILTER (WHERE local = latest) AS on_last
        FROM (
            SELECT l.rep_id, d.local, max(d.local) OVER (PARTITION BY l.rep_id) AS latest
            FROM routing.rep_loads AS l
            LEFT JOIN routing.assignments AS a
              ON a.rep_id = l.rep_id AND a.status IN ('open', 'touched')
            CROSS JOIN LATERAL (
                SELECT (a.assigned_at AT TIME ZONE l.timezone)::date AS local
            ) AS d
        ) AS dated
        GROUP BY rep_id
    ) AS s
    WHERE l.rep_id = s.rep_id
    """
)


async def seed(db_url: str, count: int) -> float:
    """Write `count` historical assignments for the reps routing has; seconds it took."""

    async def write(conn: AsyncConnection, first: int, last: int) -> None:
        await conn.execute(SEED, {"first": first, "last": last, "total": count})

    async def recount(conn: AsyncConnection) -> None:
        # Locks out the services' writers while counting, so no count is lost between.
        await conn.execute(sa.text("LOCK TABLE routing.assignments IN SHARE MODE"))
        if await conn.scalar(sa.text("SELECT to_regclass('routing.rep_loads') IS NOT NULL")):
            await conn.execute(RECOUNT)

    progress = "history: {last:,} of {count:,} assignments"
    return await in_chunks(
        db_url, count, CHUNK, write, progress, then=recount, analyze=["routing.assignments"]
    )
