"""Scoring's set-based statements for a consumer run of captures and activities: the run's leads
loaded and locked in one statement (in lead order), its activities stored in one, its leads
written in one (their new sources and campaigns appended in one each), every statement built
once; and `FoldedWrites`, which keeps a run's writes until then."""

from __future__ import annotations

import copy
import functools
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, insert
from sqlalchemy.ext.asyncio import AsyncConnection

from leadloop_scoring.adapters.tables import activities, leads
from leadloop_scoring.domain.interest import ActivityFact
from leadloop_scoring.domain.lead import ScoredLead, StageMove

_NEW_ACTIVITIES = insert(activities).on_conflict_do_nothing().returning(activities.c.activity_id)


def _append(name: str) -> Any:
    """Append a value to a lead's `name` array unless it holds it already (its whole array)."""
    column = leads.c[name]
    value = sa.bindparam("b_value", type_=sa.String())
    return (
        leads.update()
        .where(leads.c.lead_id == sa.bindparam("b_lead"), value != sa.all_(column))
        .values({name: sa.func.array_append(column, value, type_=column.type)})
    )


_APPEND = {name: _append(name) for name in ("sources", "campaigns")}


class LeadBatchStatements:
    """The run statements of `SqlRepository` (its connection is `conn`)."""

    conn: AsyncConnection

    async def leads_for_update(self, lead_ids: list[str]) -> dict[str, ScoredLead]:
        """The leads scoring knows among `lead_ids`, locked in lead order until the transaction
        ends (two runs sharing leads lock them in the same order: no deadlock between them)."""
        from leadloop_scoring.adapters.repository import lead_of

        rows = await self.conn.execute(_leads_for_update(), {"ids": lead_ids})
        return {row.lead_id: lead_of(row) for row in rows}

    async def add_activities(self, rows: list[tuple[str, str, ActivityFact]]) -> set[str]:
        """Store `(lead_id, activity_id, fact)` rows (ids distinct); the ids that were new."""
        if not rows:
            return set()
        values = [
            {
                "activity_id": activity_id,
                "lead_id": lead_id,
                "activity_type": fact.activity_type,
                "occurred_at": fact.occurred_at,
                "url": fact.url,
                "campaign": fact.campaign,
            }
            for lead_id, activity_id, fact in rows
        ]
        return set((await self.conn.execute(_NEW_ACTIVITIES, values)).scalars())

    async def save_leads(self, saved: list[tuple[ScoredLead, datetime]]) -> None:
        """Write leads (one each, in lead order) and append their new sources and campaigns
        as `save_lead` does: one statement for the leads, one per appended column."""
        from leadloop_scoring.adapters.repository import UPSERT_LEAD, lead_row

        if not saved:
            return
        ordered = sorted(saved, key=lambda pair: pair[0].lead_id)
        await self.conn.execute(UPSERT_LEAD, [lead_row(lead, now) for lead, now in ordered])
        for name, statement in _APPEND.items():
            pairs = [
                {"b_lead": lead.lead_id, "b_value": value}
                for lead, _ in ordered
                for value in getattr(lead, f"added_{name}")
            ]
            if pairs:
                await self.conn.execute(statement, pairs)
        for lead, _ in ordered:
            lead.added_sources.clear()
            lead.added_campaigns.clear()


@functools.cache
def _leads_for_update() -> Any:
    """The run's leads, locked in lead order: built once, on first use (after `repository`)."""
    from leadloop_scoring.adapters.repository import select_lead

    ids = sa.bindparam("ids", type_=ARRAY(sa.String()))
    return (
        select_lead()
        .where(leads.c.lead_id == sa.any_(ids))
        .order_by(leads.c.lead_id)
        .with_for_update(of=leads)
    )


class RunStore(Protocol):
    """Where a run's writes go at its end."""

    async def record_scores(self, scores: list[tuple[ScoredLead, str, datetime]]) -> None: ...
    async def record_stages(self, moves: list[StageMove]) -> None: ...
    async def save_leads(self, saved: list[tuple[ScoredLead, datetime]]) -> None: ...


@dataclass
class FoldedWrites:
    """A run's writes, made as its events are folded into their leads: each score as it was
    when recorded (the lead changes again later in the run), each move, and each lead's last
    state; `flush` writes them one statement per table, scores and moves in the run's order."""

    scores: list[tuple[ScoredLead, str, datetime]] = field(default_factory=list)
    stages: list[StageMove] = field(default_factory=list)
    leads: dict[str, tuple[ScoredLead, datetime]] = field(default_factory=dict)

    async def record_score(self, lead: ScoredLead, cause: str, at: datetime) -> None:
        """Keep the lead's score as it is now, for the history."""
        self.scores.append((copy.copy(lead), cause, at))

    async def record_stage(self, move: StageMove) -> None:
        """Keep an applied move for the stage history."""
        self.stages.append(move)

    async def save_lead(self, lead: ScoredLead, now: datetime) -> None:
        """Keep the lead's latest state (saved once, at the end)."""
        self.leads[lead.lead_id] = (lead, now)

    async def flush(self, store: RunStore) -> None:
        """One statement per table for the whole run."""
        await store.record_scores(self.scores)
        await store.record_stages(self.stages)
        await store.save_leads(list(self.leads.values()))
