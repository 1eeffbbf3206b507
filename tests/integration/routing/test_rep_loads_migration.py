"""The migration that brings routing's open-load counters (routing_0006) counts them from the
assignments already there: a database at routing_0005 with history, upgraded, reads the loads
the old query read, in each rep's zone, at several moments of the days that follow."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from leadloop_cli.infra import create_database, drop_database
from leadloop_db.engine import make_engine
from leadloop_db.migrate import upgrade
from leadloop_routing import MIGRATIONS
from leadloop_routing.adapters.repository import SqlRepository
from leadloop_routing.adapters.rows import assignment_row, rep_row
from leadloop_routing.adapters.tables import assignments, rep_loads, reps
from leadloop_routing.domain.assignment import Assignment, Status
from leadloop_routing.domain.model import Decision

from ...conftest import Postgres
from ...factories import intelligence
from .loads_reference import loads_from_history
from .test_rep_loads import rep

NOW = datetime(2026, 3, 9, 12, 0, tzinfo=UTC)
ZONES = {"rep-alice": "UTC", "rep-kiri": "Pacific/Kiritimati", "rep-pago": "Pacific/Pago_Pago"}
ZONES["rep-idle"] = "Europe/Berlin"  # no assignment: a row of zeros
# (owner, status, hours before NOW): history over four days, across each zone's midnights.
HISTORY: list[tuple[str | None, Status, float]] = [
    *[(r, "open", h) for r in ("rep-alice", "rep-kiri", "rep-pago") for h in (1, 5, 13, 30, 80)],
    *[(r, "touched", h) for r in ("rep-alice", "rep-kiri", "rep-pago") for h in (2, 11, 26, 60)],
    ("rep-kiri", "queued", 3),  # a rep named but the lead waits in the queue: not theirs
    (None, "queued", 4),
    ("rep-gone", "open", 7),  # an owner routing has no rep for: counted in UTC
]


@pytest.fixture
async def at_0005(postgres: Postgres) -> AsyncIterator[str]:
    """A fresh database whose routing schema stops at routing_0005."""
    name = f"test_{uuid.uuid4().hex[:12]}"
    url = await create_database(postgres.url(), name)
    try:
        await asyncio.to_thread(upgrade, url, MIGRATIONS, "routing", "routing_0005")
        yield url
    finally:
        await drop_database(postgres.url(), name)


def assignment(owner: str | None, status: Status, hours: float) -> Assignment:
    at = NOW - timedelta(hours=hours)
    decision = Decision("dach", "new", owner, None if owner else "dach-queue", ("history",))
    found = Assignment.new(
        str(uuid.uuid4()),
        f"lead-{uuid.uuid4().hex[:8]}",
        decision,
        owned=status != "queued",
        agreement_version="2026-11",
        intelligence=intelligence(),
        deadline=at + timedelta(hours=1),
        now=at,
    )
    found.status = status
    return found


async def test_the_backfill_counts_the_history_in_each_reps_zone(at_0005: str) -> None:
    engine = make_engine(at_0005, pool_size=1)
    try:
        async with engine.begin() as conn:
            await conn.execute(reps.insert(), [rep_row(rep(r, z), NOW) for r, z in ZONES.items()])
            await conn.execute(
                assignments.insert(), [assignment_row(assignment(*h)) for h in HISTORY]
            )
        await asyncio.to_thread(upgrade, at_0005, MIGRATIONS, "routing")
        async with engine.begin() as conn:
            rows = {r.rep_id: r for r in await conn.execute(sa.select(rep_loads))}
            assert set(rows) == {*ZONES, "rep-gone"}
            assert rows["rep-gone"].timezone == "UTC" and rows["rep-gone"].open_total == 1
            assert (rows["rep-idle"].open_total, rows["rep-idle"].day) == (0, None)
            repo = SqlRepository(conn)
            staff = await repo.all_reps()
            kiri_today = []
            for hours in (0, 3, 9, 14, 20, 30):
                now = NOW + timedelta(hours=hours)
                expected = await loads_from_history(conn, staff, now)
                assert await repo.loads(staff, now) == expected, f"{hours} h after the history"
                kiri_today.append(expected["rep-kiri"].today)
            assert kiri_today[0] > 0 and kiri_today[-1] == 0, kiri_today  # their midnight passed
            # The owner routing lacked becomes a rep, in Tokyo: counted again in that zone.
            await repo.save_rep(rep("rep-gone", "Asia/Tokyo"), NOW)
            staff = await repo.all_reps()
            expected = await loads_from_history(conn, staff, NOW)
            assert (await repo.loads(staff, NOW))["rep-gone"] == expected["rep-gone"]
    finally:
        await engine.dispose()
