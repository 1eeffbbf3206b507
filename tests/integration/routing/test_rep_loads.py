"""Routing's open-load counters on the real PostgreSQL: a seeded random run of the repository's
real writes (assignments owned or queued, touches, SLA warnings, reassignments, the team queue,
erasures, a rep's time zone changed) over several days; after every step, each rep's load read
from the counters is the one recounted from the whole history the way `loads` did before,
for reps in UTC, UTC+14 and UTC-11 across their local midnights."""

from __future__ import annotations

import dataclasses
import random
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, time, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from leadloop_db.engine import make_engine
from leadloop_routing.adapters.repository import SqlRepository
from leadloop_routing.adapters.tables import assignments
from leadloop_routing.domain.assignment import Assignment
from leadloop_routing.domain.calendar import WorkingCalendar
from leadloop_routing.domain.model import Decision, Load, Rep

from ...bench import history
from ...factories import intelligence
from .loads_reference import loads_from_history

START = datetime(2026, 3, 6, 8, 0, tzinfo=UTC)
ZONES = {
    "rep-alice": "UTC",
    "rep-kiri": "Pacific/Kiritimati",  # UTC+14: their day starts at 10:00 UTC the day before
    "rep-pago": "Pacific/Pago_Pago",  # UTC-11
    "rep-wanderer": "Asia/Tokyo",  # moves to America/Los_Angeles and back
}
WANDERER_ZONES = ("Asia/Tokyo", "America/Los_Angeles")


def rep(rep_id: str, zone: str) -> Rep:
    """A rep at work around the clock in `zone`."""
    calendar = WorkingCalendar(zone, time(0), time(23, 59, 59), frozenset(range(7)))
    return Rep(rep_id, rep_id.title(), f"{rep_id}@northwind.example", ("dach",), calendar=calendar)


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(database_url, pool_size=2)
    yield engine
    await engine.dispose()


class Run:
    """The seeded sequence: each step one transaction through `SqlRepository`, as handlers do."""

    def __init__(self, engine: AsyncEngine, seed: int) -> None:
        self.engine = engine
        self.rng = random.Random(seed)
        self.clock = START
        self.leads: list[str] = []
        self.done: Counter[str] = Counter()

    async def assign(self, repo: SqlRepository) -> None:
        """A new SQL: owned by a rep (open), or queued (no rep, or a rep routing lost)."""
        owner = self.rng.choice([*ZONES, *ZONES, None, "rep-gone"])
        owned = owner in ZONES
        lead_id = f"lead-{uuid.uuid4().hex[:8]}"
        decision = Decision("dach", "new", owner, None if owned else "dach-queue", ("seeded",))
        assignment = Assignment.new(
            str(uuid.uuid4()),
            lead_id,
            decision,
            owned=owned,
            agreement_version="2026-11",
            intelligence=intelligence(),
            deadline=self.clock + timedelta(hours=1),
            now=self.clock,
        )
        await repo.add_assignment(assignment)
        self.leads.append(lead_id)
        self.done["assigned" if owned else "queued at hand-off"] += 1

    async def touch(self, repo: SqlRepository) -> None:
        """Sales touched a lead (or set a status): its clock stops, it stays its rep's."""
        found = await repo.open_assignment(self.rng.choice(self.leads))
        if found is not None:
            found.stop_timer(self.clock, "touched")
            await repo.save_assignment(found)
            self.done[f"touched ({'owned' if found.rep_id else 'from the queue'})"] += 1

    async def sla_step(self, repo: SqlRepository) -> None:
        """A due SLA step: a warning, a reassignment to another rep, or the team queue."""
        due = await repo.due_assignments(self.clock + timedelta(days=30), 1000)
        if not due:
            return
        found = self.rng.choice(due)
        step = self.rng.choice(("warn", "reassign", "reassign", "queue"))
        found.took_step(step, self.clock)
        if step == "warn":
            found.escalate_later(self.clock + timedelta(minutes=15))
        elif step == "reassign":
            to = self.rng.choice([r for r in ZONES if r != found.rep_id])
            decision = Decision("dach", "new", to, None, ("reassigned",))
            found.reassign(decision, self.clock + timedelta(hours=1), self.clock)
        else:
            found.to_queue("dach-queue", self.clock)
        await repo.save_assignment(found)
        self.done[step] += 1

    async def erase(self, repo: SqlRepository) -> None:
        """A person erased: their assignments stay, without the intelligence."""
        await repo.erase(self.rng.choice(self.leads))
        self.done["erased"] += 1

    async def rezone(self, repo: SqlRepository) -> None:
        """The wanderer moves: saved in their other zone (or saved unchanged)."""
        current = await repo.rep("rep-wanderer")
        assert current is not None
        zone = self.rng.choice(WANDERER_ZONES)
        calendar = dataclasses.replace(current.calendar, timezone=zone)
        await repo.save_rep(dataclasses.replace(current, calendar=calendar), self.clock)
        self.done["rezoned" if zone != current.calendar.timezone else "rep saved"] += 1

    async def step(self) -> str:
        """One random write in its own transaction; sometimes the clock moves on first."""
        if self.rng.random() < 0.3:
            self.clock += timedelta(minutes=self.rng.randint(1, 150))
        writes = [self.assign] * 4 + [self.touch] * 2 + [self.sla_step] * 3
        writes += [self.erase, self.rezone]
        write = self.rng.choice(writes) if self.leads else self.assign
        async with self.engine.begin() as conn:
            await write(SqlRepository(conn))
        return write.__name__

    async def loads(self) -> tuple[dict[str, Load], dict[str, Load]]:
        """(from the counters, recounted from the history) at the run's clock."""
        async with self.engine.connect() as conn:
            repo = SqlRepository(conn)
            reps = await repo.all_reps()
            return await repo.loads(reps, self.clock), await loads_from_history(
                conn, reps, self.clock
            )


@pytest.mark.parametrize("seed", [17, 2026])
async def test_the_counters_equal_the_history_after_every_write(
    engine: AsyncEngine, seed: int
) -> None:
    async with engine.begin() as conn:
        for rep_id, zone in ZONES.items():
            await SqlRepository(conn).save_rep(rep(rep_id, zone), START)
    run = Run(engine, seed)
    kiri_today_reset = 0
    before = (await run.loads())[0]
    for index in range(400):
        name = await run.step()
        counted, recounted = await run.loads()
        assert counted == recounted, f"step {index} ({name}) at {run.clock.isoformat()}"
        kiri, was = counted["rep-kiri"], before["rep-kiri"]
        if was.today > 0 and kiri.today == 0 and kiri.total >= was.total:
            kiri_today_reset += 1  # their local day ended with the lead still theirs
        before = counted
    # The run went through what it is meant to check, or it proves nothing.
    assert run.clock - START > timedelta(days=3)
    assert kiri_today_reset >= 2
    for kind in ("assigned", "queued at hand-off", "reassign", "queue", "warn", "rezoned"):
        assert run.done[kind] >= 3, run.done
    assert run.done["touched (owned)"] >= 3 and run.done["touched (from the queue)"] >= 1
    final = before
    assert all(load.total > 0 for load in final.values()), final
    assert any(0 < load.today < load.total for load in final.values()), final


async def test_the_benchs_history_is_counted(engine: AsyncEngine, database_url: str) -> None:
    async with engine.begin() as conn:
        for rep_id, zone in ZONES.items():
            await SqlRepository(conn).save_rep(rep(rep_id, zone), START)
    started = datetime.now(UTC)
    await history.seed(database_url, 2_000)  # the newest a day before it started
    async with engine.connect() as conn:
        repo = SqlRepository(conn)
        staff = await repo.all_reps()
        newest = await conn.scalar(sa.select(sa.func.max(assignments.c.assigned_at)))
        assert newest is not None and newest < started - timedelta(days=1)
        for now in (newest, newest + timedelta(hours=9), started):
            counted = await repo.loads(staff, now)
            assert counted == await loads_from_history(conn, staff, now), now
            assert sum(load.total for load in counted.values()) == 2_000
            if now == newest:
                assert sum(load.today for load in counted.values()) > 0, counted
