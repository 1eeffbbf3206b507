"""The counts of an import's scored captures (GET /v1/imports/{id}/scoring) are purged once
older than the retention (30 days by default) by scoring's periodic worker; younger ones stay."""

from __future__ import annotations

import httpx
import sqlalchemy as sa

from leadloop_scoring.adapters.tables import import_scores
from leadloop_scoring.entrypoints.imports import import_scores_retention
from tests.waiting import wait_for

from .conftest import Loop

HEADER = "Email,First Name,Company,Employees,Industry,Country"
ROWS = ["ana@acme-dental.com", "bo@globex.io", "cy@initech.com"]


async def _scored(scoring: httpx.AsyncClient, import_id: str) -> int:
    r = await scoring.get(f"/v1/imports/{import_id}/scoring")
    assert r.status_code == 200, r.text
    return int(r.json()["captures_scored"])


async def test_counts_older_than_the_retention_are_purged(loop: Loop) -> None:
    body = HEADER + "\n" + "".join(f"{e},X,Co,12,Retail,GB\n" for e in ROWS)
    r = await loop.intake.post(
        "/v1/imports", content=body, headers={"content-type": "text/csv", "prefer": "respond-async"}
    )
    assert r.status_code == 202, r.text
    import_id = r.json()["import_id"]

    async def all_scored() -> bool:
        return await _scored(loop.scoring, import_id) == len(ROWS)

    await wait_for(all_scored, what="every capture of the import scored")
    engine = loop.scoring_app.state.engine
    async with engine.begin() as conn:
        events = (
            await conn.execute(
                sa.select(import_scores.c.event_id)
                .where(import_scores.c.import_id == import_id)
                .order_by(import_scores.c.event_id)
            )
        ).scalars()
        for event_id, age in zip(events, ["31 days", "29 days"], strict=False):
            await conn.execute(
                import_scores.update()
                .where(import_scores.c.event_id == event_id)
                .values(scored_at=sa.func.now() - sa.text(f"interval '{age}'"))
            )
    settings = loop.scoring_app.state.settings
    worker = import_scores_retention(loop.scoring_app.state.transactions, settings)
    assert settings.import_scores_retention_days == 30
    assert await worker.step() == 1
    assert await _scored(loop.scoring, import_id) == len(ROWS) - 1
    assert await worker.step() == 0
