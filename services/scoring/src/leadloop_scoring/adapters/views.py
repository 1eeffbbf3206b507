"""Scoring's read side for the HTTP API: a lead's score, its breakdown and its history."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from leadloop_scoring.adapters.repository import select_lead
from leadloop_scoring.adapters.tables import leads, score_history, stage_history


async def score_view(conn: AsyncConnection, lead_id: str) -> dict[str, Any] | None:
    """The current score with its breakdown and the stage history, for the HTTP API."""
    lead = (await conn.execute(select_lead().where(leads.c.lead_id == lead_id))).first()
    if lead is None:
        return None
    stages = await conn.execute(
        sa.select(stage_history)
        .where(stage_history.c.lead_id == lead_id)
        .order_by(stage_history.c.id)
    )
    scores = await conn.execute(
        sa.select(
            score_history.c.total,
            score_history.c.grade,
            score_history.c.scored_at,
            score_history.c.agreement_version,
            score_history.c.cause,
        )
        .where(score_history.c.lead_id == lead_id)
        .order_by(score_history.c.id.desc())
        .limit(50)
    )
    return {
        "lead": dict(lead._mapping),
        "stages": [dict(r._mapping) for r in stages],
        "scores": [dict(r._mapping) for r in scores],
    }
