"""The agreement in force on a real Postgres: the service keeps each version's parsed agreement,
and a version published while it runs scores the very next event."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from leadloop_scoring.adapters.repository import SqlRepository

from ...factories import acme_dental_form
from ...waiting import wait_for
from .conftest import Loop


async def test_a_version_published_while_scoring_runs_scores_the_next_event(
    loop: Loop, engine: AsyncEngine
) -> None:
    lead_id = (await loop.intake.post("/v1/form-submissions", json=acme_dental_form())).json()[
        "lead_id"
    ]
    score: dict[str, Any] = {}

    async def scored_under(version: str, interest: float) -> bool:
        score.update((await loop.scoring.get(f"/v1/leads/{lead_id}/score")).json())
        return score.get("agreement_version") == version and score.get("interest") == interest

    async def viewed_pricing() -> None:
        activity = {"lead_id": lead_id, "type": "pricing_page_view"}
        activity["occurred_at"] = datetime.now(UTC).isoformat()
        assert (await loop.intake.post("/v1/activities", json=activity)).status_code == 202

    await viewed_pricing()
    await wait_for(lambda: scored_under("2026-11", 8), what="8 points under 2026-11")
    text = (await loop.scoring.get("/v1/agreement?format=yaml")).text
    newer = text.replace('version: "2026-11"', 'version: "2026-12"')
    newer = newer.replace("pricing_page_view: 8", "pricing_page_view: 9")
    assert newer.count("2026-12") == 1 and "pricing_page_view: 9" in newer
    assert (await loop.scoring.post("/v1/agreement", content=newer)).status_code == 201
    async with engine.connect() as conn:
        version, checksum = await SqlRepository(conn).current_version() or ("", "")
    assert version == "2026-12" and checksum != ""
    await viewed_pricing()
    await wait_for(lambda: scored_under("2026-12", 18), what="two views at 9 points under 2026-12")
