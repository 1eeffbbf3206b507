"""Each rep's open SQLs as counters (`rep_loads`), so a hand-off reads one row per rep and its
cost does not grow with history.

An assignment counts for its rep while it is owned (`rep_id` set) and `open` or `touched`. Each
rep's row holds how many count (`open_total`) and, for `day`, the rep's local date of the latest
counted assignment, how many of them were assigned that day (`day_count`); none counts on a
later local date. "Today" is then `day_count` while the rep's local date is still `day`, else 0.
The repository calls `enter` and `leave` in the transaction that moves an assignment in or out
of that set (or to another rep), and `follow_zone` when it saves a rep: a rep whose time zone
changed has their row counted again from their assignments, in the new zone.

Within a transaction (a consumer batch is one) each rep's row is read once: `RepLoads` keeps it
as last read, or as the writes' RETURNING gave it back, so the next hand-off in the batch sees
the previous one's counts without a read. `before_write` runs before any counter is written:
the repository takes the round-robin teams' locks there, so every writer of counters takes
the teams first, then the rows (no two transactions wait for each other's rows and teams).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, insert
from sqlalchemy.ext.asyncio import AsyncConnection

from leadloop_routing.adapters.tables import rep_loads, reps
from leadloop_routing.domain.model import Load, Rep

COUNTED = ("open", "touched")


def counts(rep_id: str | None, status: str) -> bool:
    """Whether an assignment with this owner and status is part of its rep's open load."""
    return rep_id is not None and status in COUNTED


def today(day: date | None, day_count: int, zone: str, now: datetime) -> int:
    """The counted assignments of the rep's current local day."""
    # A later `day` than now's only comes from another replica's clock running ahead.
    return day_count if day is not None and day >= now.astimezone(ZoneInfo(zone)).date() else 0


def _local(at: sa.ColumnElement[datetime], zone: sa.ColumnElement[str]) -> sa.ColumnElement[date]:
    return sa.cast(sa.func.timezone(zone, at), sa.Date)


def _enter_statement() -> sa.Insert:
    at = sa.bindparam("at", type_=sa.DateTime(timezone=True))
    rep_id = sa.bindparam("rep", type_=sa.String)
    # The rep's zone; an owner routing has no rep for (none today) counts in UTC until one is
    # saved with its zone (follow_zone).
    zone = sa.func.coalesce(
        sa.select(reps.c.timezone).where(reps.c.rep_id == rep_id).scalar_subquery(), "UTC"
    )
    stmt = insert(rep_loads).from_select(
        ["rep_id", "timezone", "open_total", "day", "day_count"],
        sa.select(rep_id, zone, sa.literal(1), _local(at, zone), sa.literal(1)),
    )
    # On the existing row, its own zone: the one its `day` was counted in.
    local = _local(at, rep_loads.c.timezone)
    return stmt.on_conflict_do_update(
        index_elements=[rep_loads.c.rep_id],
        set_={
            "open_total": rep_loads.c.open_total + 1,
            "day": sa.func.greatest(rep_loads.c.day, local),
            "day_count": sa.case(
                (sa.or_(rep_loads.c.day.is_(None), local > rep_loads.c.day), 1),
                (local == rep_loads.c.day, rep_loads.c.day_count + 1),
                else_=rep_loads.c.day_count,
            ),
        },
    ).returning(*rep_loads.c)


def _leave_statement() -> sa.Update:
    at = sa.bindparam("at", type_=sa.DateTime(timezone=True))
    local = _local(at, rep_loads.c.timezone)
    return (
        rep_loads.update()
        .where(rep_loads.c.rep_id == sa.bindparam("rep", type_=sa.String))
        .values(
            open_total=rep_loads.c.open_total - 1,
            day_count=sa.case(
                (rep_loads.c.day == local, rep_loads.c.day_count - 1),
                else_=rep_loads.c.day_count,
            ),
        )
        .returning(*rep_loads.c)
    )


def _claim_statement() -> sa.Insert:
    stmt = insert(rep_loads).values(
        rep_id=sa.bindparam("rep", type_=sa.String),
        timezone=sa.bindparam("zone", type_=sa.String),
        open_total=0,
        day=None,
        day_count=0,
    )
    # Touching the row locks it (behind any transaction still counting into it) and returns
    # the zone it counts in: a new rep's row is created in theirs, with nothing counted.
    return stmt.on_conflict_do_update(
        index_elements=[rep_loads.c.rep_id], set_={"rep_id": rep_loads.c.rep_id}
    ).returning(rep_loads.c.timezone)


# The rep's row counted again from their assignments, in `zone` (the migration's backfill for
# one rep). Run after the row is locked, so it sees every transaction that counted into it.
RECOUNT = sa.text(
    """
    UPDATE routing.rep_loads AS l
    SET timezone = :zone, open_total = s.total, day = s.last,
        day_count = s.on_last
    FROM (
        SELECT count(local) AS total, max(local) AS last,
               count(*) FILTER (WHERE local = latest) AS on_last
        FROM (
            SELECT local, max(local) OVER () AS latest
            FROM (
                SELECT (assigned_at AT TIME ZONE :zone)::date AS local
                FROM routing.assignments
                WHERE rep_id = :rep AND status IN ('open', 'touched')
            ) AS mine
        ) AS dated
    ) AS s
    WHERE l.rep_id = :rep
    """
)
READ = sa.select(rep_loads).where(
    rep_loads.c.rep_id == sa.func.any(sa.bindparam("rep_ids", type_=ARRAY(sa.String)))
)
ENTER = _enter_statement()
LEAVE = _leave_statement()
CLAIM = _claim_statement()


class RepLoads:
    """The `rep_loads` counters inside one transaction."""

    def __init__(
        self, conn: AsyncConnection, before_write: Callable[[], Awaitable[None]] | None = None
    ) -> None:
        self.conn = conn
        self.before_write = before_write
        # Each rep's row as this transaction last read or wrote it (None: the rep has none).
        self.rows: dict[str, sa.Row[Any] | None] = {}

    async def read(self, reps: Sequence[Rep], now: datetime) -> dict[str, Load]:
        """Open SQLs per rep: assigned since the start of their local day, and in total."""
        ids = [r.rep_id for r in reps]
        unread = [rep_id for rep_id in ids if rep_id not in self.rows]
        if unread:
            found = {r.rep_id: r for r in await self.conn.execute(READ, {"rep_ids": unread})}
            self.rows.update({rep_id: found.get(rep_id) for rep_id in unread})
        return {rep_id: _load(self.rows[rep_id], now) for rep_id in ids}

    async def enter(self, rep_id: str, assigned_at: datetime) -> None:
        """An assignment made at `assigned_at` starts counting for this rep."""
        await self._before_write()
        result = await self.conn.execute(ENTER, {"rep": rep_id, "at": assigned_at})
        self.rows[rep_id] = result.one()

    async def leave(self, rep_id: str, assigned_at: datetime) -> None:
        """An assignment made at `assigned_at` stops counting for this rep."""
        await self._before_write()
        result = await self.conn.execute(LEAVE, {"rep": rep_id, "at": assigned_at})
        self.rows[rep_id] = result.first()

    async def move(
        self, before: tuple[str | None, str], after: tuple[str | None, str], assigned_at: datetime
    ) -> None:
        """An assignment went from (owner, status) `before` to `after`: count it again, the
        reps' rows taken in id order (two reassignments crossing cannot deadlock)."""
        (old_rep, old_status), (new_rep, new_status) = before, after
        was, will = counts(old_rep, old_status), counts(new_rep, new_status)
        if was and will and old_rep == new_rep:
            return
        steps: list[tuple[str, bool]] = []
        if was and old_rep is not None:
            steps.append((old_rep, False))
        if will and new_rep is not None:
            steps.append((new_rep, True))
        for rep_id, entering in sorted(steps):
            await (self.enter if entering else self.leave)(rep_id, assigned_at)

    async def follow_zone(self, rep_id: str, zone: str) -> None:
        """A rep was saved: create their row, or count it again if their zone changed."""
        self.rows.pop(rep_id, None)
        counted_in = (await self.conn.execute(CLAIM, {"rep": rep_id, "zone": zone})).scalar_one()
        if counted_in != zone:
            await self.conn.execute(RECOUNT, {"rep": rep_id, "zone": zone})

    async def _before_write(self) -> None:
        if self.before_write is not None:
            await self.before_write()


def _load(row: sa.Row[Any] | None, now: datetime) -> Load:
    """A rep's load at `now` from their counter row (none: nothing counted)."""
    if row is None:
        return Load()
    return Load(today(row.day, row.day_count, row.timezone, now), row.open_total)
