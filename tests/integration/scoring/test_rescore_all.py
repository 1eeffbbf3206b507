"""Re-scoring every lead after an agreement change, on PostgreSQL: leads seeded in scoring's
tables, a version published with rescore through `leadloop agreement publish`'s client code,
the scheduler's set-based batches, and the progress read until nothing is pending."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from leadloop_cli.agreement_cmd import follow
from leadloop_contract.agreement import EXAMPLE_FILE
from leadloop_db.engine import make_engine
from tests.bench.rescore_seed import seed

from .conftest import Loop

LEADS = 450  # more than two batches of 200
NEW = EXAMPLE_FILE.read_text().replace('version: "2026-11"', 'version: "2026-12"')
EVENTS = sa.text(
    """
    SELECT event_type, count(*) AS n, count(DISTINCT key) AS leads FROM scoring.outbox
    WHERE key LIKE 'rescore-%' GROUP BY event_type
    """
)
STAGES = sa.text(
    "SELECT count(*) FROM scoring.stage_history WHERE cause = 'leadloop.scoring.decay'"
)


async def test_every_lead_is_rescored_once_and_the_progress_reaches_nothing_pending(
    loop: Loop, database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    await seed(database_url, LEADS, "2026-11")
    capsys.readouterr()
    assert await follow(loop.scoring, "new.yaml", NEW, rescore=True) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"new.yaml: version 2026-12 published; {LEADS} leads to re-score"
    assert out[-1].startswith(f"re-scored: {LEADS} leads under 2026-12 in ")
    progress = (await loop.scoring.get("/v1/rescore")).json()
    assert (progress["pending"], progress["done"], progress["per_second"]) == (0, LEADS, None)
    engine = make_engine(database_url, pool_size=1)
    try:
        async with engine.connect() as conn:
            events = {r.event_type: (r.n, r.leads) for r in await conn.execute(EVENTS)}
            moved = await conn.scalar(STAGES)
            versions = await conn.scalar(
                sa.text("SELECT count(DISTINCT agreement_version) FROM scoring.leads")
            )
    finally:
        await engine.dispose()
    # A new version changes every lead's result: one lead.scored each, and one
    # lead.stage_changed per move the decay batches recorded.
    assert events["leadloop.lead.scored.v1"] == (LEADS, LEADS)
    assert events.get("leadloop.lead.stage_changed.v1", (0, 0))[0] == moved
    assert versions == 1
