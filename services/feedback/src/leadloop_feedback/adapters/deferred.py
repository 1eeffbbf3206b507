"""The projection's writes that nothing reads back inside the transaction, kept until the commit
and then written set-based: one statement per table for a whole consumer batch.

Journey lines, stage entries, touches and statuses are inserted once by their key (the first
of a batch wins, as one by one); a lead's scores and stage are the last of the batch (as one by
one, each overwriting the previous). An erasure drops its lead's pending journey lines, as its
DELETE drops the written ones. The statements are built once (unnest of one array per column).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, insert
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.dml import Insert

from leadloop_feedback.adapters.tables import journey, leads, stage_events, statuses, touches


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


class Deferred:
    """One transaction's pending writes, in the order the handlers made them."""

    def __init__(self) -> None:
        self.clear()

    def clear(self) -> None:
        """Nothing pending."""
        self.inserts: dict[str, list[dict[str, Any]]] = {name: [] for name in INSERTS}
        self.scores: dict[str, dict[str, Any]] = {}
        self.stages: dict[str, dict[str, Any]] = {}

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
        self.clear()


def _columns(rows: list[dict[str, Any]], columns: Sequence[str]) -> dict[str, list[Any]]:
    """Rows as one list per column (the unnest statements' parameters)."""
    return {c: [row[c] for row in rows] for c in columns}
