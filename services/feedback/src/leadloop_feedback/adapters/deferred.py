"""The projection's writes that nothing reads back inside the transaction, kept until the commit
and then written set-based: one statement per table for a whole consumer batch.

Journey lines, stage entries, touches and statuses are inserted once by their key (the first
of a batch wins, as one by one); a lead's scores and stage are the last of the batch (as one by
one, each overwriting the previous). An erasure drops its lead's pending journey lines, as its
DELETE drops the written ones. The statements are built once (unnest of one array per column).

The reps a batch's hand-offs name, and their identities, are rows every partition's batches
share: written as each event came, two batches naming the same reps in another order locked
them crosswise and deadlocked (PostgreSQL then stalls both for its deadlock_timeout, 1 s, and
the batch is retried). Written here, sorted by key, every batch takes them in one order.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, insert
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.dml import Insert

from leadloop_feedback.adapters.tables import (
    journey,
    leads,
    rep_identities,
    reps,
    stage_events,
    statuses,
    touches,
)


def unnest_rows(table: sa.Table, columns: Sequence[str]) -> Any:
    """unnest(:col1, :col2, ...) AS rows(col1, col2, ...): one array parameter per column."""
    arrays = [sa.bindparam(c, type_=ARRAY(table.c[c].type)) for c in columns]
    return sa.func.unnest(*arrays).table_valued(*columns).render_derived(name="rows")


def insert_once(table: sa.Table, columns: Sequence[str]) -> Insert:
    """INSERT ... SELECT FROM unnest ON CONFLICT DO NOTHING: each row once by its key."""
    rows = unnest_rows(table, columns)
    return (
        insert(table)
        .from_select(list(columns), sa.select(*[rows.c[c] for c in columns]))
        .on_conflict_do_nothing()
    )


def set_on_leads(columns: Sequence[str]) -> Insert:
    """Each lead (created if new) with `columns` set and updated_at = :now."""
    rows = unnest_rows(leads, ["lead_id", *columns])
    names = ["lead_id", *columns, "updated_at"]
    selected = [rows.c[c] for c in ["lead_id", *columns]]
    stmt = insert(leads).from_select(
        names, sa.select(*selected, sa.bindparam("now", type_=leads.c.updated_at.type))
    )
    return stmt.on_conflict_do_update(
        index_elements=[leads.c.lead_id], set_={c: stmt.excluded[c] for c in names[1:]}
    )


JOURNEY = ("event_id", "lead_id", "event_type", "at", "summary")
STAGE_EVENTS = ("event_id", "lead_id", "from_stage", "to_stage", "reason", "at")
TOUCHES = ("crm_event_id", "lead_id", "rep_id", "channel", "outcome", "touched_at")
STATUSES = ("crm_event_id", "lead_id", "status", "reason_code", "changed_at")
SCORES = ("fit", "interest", "grade", "interest_band")
INSERTS = {
    journey.name: (insert_once(journey, JOURNEY), JOURNEY),
    stage_events.name: (insert_once(stage_events, STAGE_EVENTS), STAGE_EVENTS),
    touches.name: (insert_once(touches, TOUCHES), TOUCHES),
    statuses.name: (insert_once(statuses, STATUSES), STATUSES),
}
SET_SCORES = set_on_leads(SCORES)
SET_STAGE = set_on_leads(("stage",))


def _know_reps() -> Insert:
    """Each rep (first seen at its row's time), its name replaced only by a name."""
    rows = unnest_rows(reps, ["rep_id", "first_seen_at", "name"])
    stmt = insert(reps).from_select(
        ["rep_id", "first_seen_at", "name"],
        sa.select(rows.c.rep_id, rows.c.first_seen_at, rows.c.name),
    )
    return stmt.on_conflict_do_update(
        index_elements=[reps.c.rep_id],
        set_={"name": sa.func.coalesce(stmt.excluded.name, reps.c.name)},
    )


def _know_rep_identities() -> Insert:
    """Each (kind, value) names its row's rep unless a later event named another."""
    columns = ["kind", "value", "rep_id", "seen_at"]
    rows = unnest_rows(rep_identities, columns)
    stmt = insert(rep_identities).from_select(columns, sa.select(*[rows.c[c] for c in columns]))
    return stmt.on_conflict_do_update(
        index_elements=[rep_identities.c.kind, rep_identities.c.value],
        set_={"rep_id": stmt.excluded.rep_id, "seen_at": stmt.excluded.seen_at},
        where=rep_identities.c.seen_at <= stmt.excluded.seen_at,
    )


KNOW_REPS = _know_reps()
KNOW_REP_IDENTITIES = _know_rep_identities()


class Deferred:
    """One transaction's pending writes, in the order the handlers made them."""

    def __init__(self) -> None:
        self.clear()

    def clear(self) -> None:
        """Nothing pending."""
        self.inserts: dict[str, list[dict[str, Any]]] = {name: [] for name in INSERTS}
        self.scores: dict[str, dict[str, Any]] = {}
        self.stages: dict[str, dict[str, Any]] = {}
        self.reps: dict[str, dict[str, Any]] = {}
        self.rep_identities: dict[tuple[str, str], dict[str, Any]] = {}

    def know_rep(self, rep_id: str, at: datetime, name: str | None) -> None:
        """The rep, first seen at the first `at` of the batch; a name replaces the pending one,
        no name keeps it (as one by one, each write coalescing the name)."""
        pending = self.reps.setdefault(rep_id, {"rep_id": rep_id, "first_seen_at": at})
        if name is not None or "name" not in pending:
            pending["name"] = name

    def know_rep_identity(self, kind: str, value: str, rep_id: str, at: datetime) -> None:
        """(kind, value) names the rep, unless an event seen later in time named another."""
        pending = self.rep_identities.get((kind, value))
        if pending is None or pending["seen_at"] <= at:
            row = {"kind": kind, "value": value, "rep_id": rep_id, "seen_at": at}
            self.rep_identities[kind, value] = row

    def forget_journey(self, lead_id: str) -> None:
        """The lead's pending journey lines go (its erasure)."""
        lines = self.inserts[journey.name]
        lines[:] = [line for line in lines if line["lead_id"] != lead_id]

    async def flush(self, conn: AsyncConnection) -> None:
        """Write what is pending, one statement per table that has rows; then nothing is."""
        for name, (statement, columns) in INSERTS.items():
            if self.inserts[name]:
                await conn.execute(statement, _columns(self.inserts[name], columns))
        now = datetime.now(UTC)
        for latest, statement, columns in (
            (self.scores, SET_SCORES, SCORES),
            (self.stages, SET_STAGE, ("stage",)),
        ):
            if latest:
                rows = [{"lead_id": lead, **latest[lead]} for lead in sorted(latest)]
                params = _columns(rows, ("lead_id", *columns))
                await conn.execute(statement, {**params, "now": now})
        for rows, statement, columns in (
            (_sorted(self.reps), KNOW_REPS, ("rep_id", "first_seen_at", "name")),
            (
                _sorted(self.rep_identities),
                KNOW_REP_IDENTITIES,
                ("kind", "value", "rep_id", "seen_at"),
            ),
        ):
            if rows:
                await conn.execute(statement, _columns(rows, columns))
        self.clear()


def _sorted(pending: Mapping[Any, dict[str, Any]]) -> list[dict[str, Any]]:
    """The pending rows in key order: every transaction locks shared rows in that one order."""
    return [pending[key] for key in sorted(pending)]


def _columns(rows: list[dict[str, Any]], columns: Sequence[str]) -> dict[str, list[Any]]:
    """Rows as one list per column (the unnest statements' parameters)."""
    return {c: [row[c] for row in rows] for c in columns}
