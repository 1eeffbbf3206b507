"""Scoring's set-based statements for re-scoring a batch of leads (the decay scheduler's, and
re-scoring every lead after an agreement change): claim, read, write, each once per batch."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from leadloop_scoring.adapters.tables import activities, leads, score_history, stage_history
from leadloop_scoring.domain.interest import ActivityFact
from leadloop_scoring.domain.lead import ScoredLead, StageMove

# Each lead's most recent activities, for a batch of leads at once (the index on
# (lead_id, occurred_at) answers each lateral read).
_ACTIVITIES_OF_LEADS = sa.text(
    """
    SELECT l.lead_id, a.activity_type, a.occurred_at, a.campaign, a.url
    FROM unnest(CAST(:lead_ids AS varchar[])) AS l(lead_id)
    CROSS JOIN LATERAL (
        SELECT activity_type, occurred_at, campaign, url
        FROM scoring.activities AS x
        WHERE x.lead_id = l.lead_id
        ORDER BY x.occurred_at DESC
        LIMIT :limit
    ) AS a
    """
).columns(
    lead_id=activities.c.lead_id.type,
    activity_type=activities.c.activity_type.type,
    occurred_at=activities.c.occurred_at.type,
    campaign=activities.c.campaign.type,
    url=activities.c.url.type,
)
_SCORE_ROW = score_history.insert()
_STAGE_ROW = stage_history.insert()


class RescoreStatements:
    """The batch statements of `SqlRepository` (its connection is `conn`)."""

    conn: AsyncConnection

    async def claim_due_leads(self, now: datetime, limit: int) -> list[ScoredLead]:
        """Claim and load the leads whose decay deadline passed, the earliest first; other
        replicas skip the locked ones, so each lead is re-scored by one of them."""
        from leadloop_scoring.adapters.repository import lead_of, select_lead

        query = (
            select_lead()
            .where(leads.c.next_rescore_at <= now, leads.c.erased_at.is_(None))
            .order_by(leads.c.next_rescore_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return [lead_of(row) for row in await self.conn.execute(query)]

    async def activities_of_leads(
        self, lead_ids: list[str], limit: int
    ) -> dict[str, list[ActivityFact]]:
        """Each lead's most recent activities first, for many leads in one statement."""
        found: dict[str, list[ActivityFact]] = {lead_id: [] for lead_id in lead_ids}
        rows = await self.conn.execute(_ACTIVITIES_OF_LEADS, {"lead_ids": lead_ids, "limit": limit})
        for r in rows:
            found[r.lead_id].append(ActivityFact(r.activity_type, r.occurred_at, r.campaign, r.url))
        return found

    async def record_scores(self, scores: list[tuple[ScoredLead, str, datetime]]) -> None:
        """Keep each lead's current score in its history: one statement for the batch."""
        if scores:
            await self.conn.execute(_SCORE_ROW, [_score_row(*s) for s in scores])

    async def record_stages(self, moves: list[StageMove]) -> None:
        """Keep each applied move in its lead's stage history: one statement for the batch."""
        if moves:
            await self.conn.execute(_STAGE_ROW, [_stage_row(m) for m in moves])

    async def save_rescored(self, rescored: list[ScoredLead], now: datetime) -> None:
        """Write re-scored leads (no new sources or campaigns): one statement for the batch."""
        from leadloop_scoring.adapters.repository import UPSERT_LEAD, lead_row

        if any(lead.added_sources or lead.added_campaigns for lead in rescored):
            raise ValueError("a re-score adds no sources or campaigns: save_lead writes those")
        if rescored:
            await self.conn.execute(UPSERT_LEAD, [lead_row(lead, now) for lead in rescored])


def _score_row(lead: ScoredLead, cause: str, at: datetime) -> dict[str, Any]:
    return {
        "lead_id": lead.lead_id,
        "fit": lead.fit,
        "interest": lead.interest,
        "total": lead.total,
        "grade": lead.grade,
        "interest_band": lead.interest_band,
        "breakdown": [line.model_dump(mode="json") for line in lead.breakdown],
        "agreement_version": lead.agreement_version,
        "cause": cause,
        "scored_at": at,
    }


def _stage_row(move: StageMove) -> dict[str, Any]:
    t = move.transition
    return {
        "lead_id": move.lead_id,
        "from_stage": t.from_stage,
        "to_stage": t.to_stage,
        "applied": True,
        "reason": t.reason,
        "agreement_version": move.agreement_version,
        "cause": move.cause,
        "changed_at": move.at,
    }


# The progress of re-scoring after the agreement in force was published: leads still due (the
# partial index on next_rescore_at answers it) and leads scored under that version since.
_PROGRESS = sa.text(
    """
    WITH version AS (
        SELECT version, published_at FROM scoring.agreements ORDER BY published_at DESC LIMIT 1
    )
    SELECT v.version, v.published_at, now() AS at,
           (SELECT count(*) FROM scoring.leads
            WHERE next_rescore_at <= now() AND erased_at IS NULL) AS pending,
           (SELECT count(*) FROM scoring.leads AS l
            WHERE l.agreement_version = v.version AND l.updated_at >= v.published_at
              AND l.erased_at IS NULL) AS done
    FROM version AS v
    """
)


async def rescore_progress(conn: AsyncConnection) -> dict[str, Any] | None:
    """Leads due, leads re-scored under the version in force since its publication, and the
    rate since then (per second); None before any agreement is published."""
    row = (await conn.execute(_PROGRESS)).first()
    if row is None:
        return None
    elapsed = max((row.at - row.published_at).total_seconds(), 1e-3)
    return {
        "agreement_version": row.version,
        "published_at": row.published_at,
        "pending": int(row.pending),
        "done": int(row.done),
        "per_second": round(row.done / elapsed, 1) if row.pending else None,
    }
