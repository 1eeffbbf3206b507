"""A CSV import goes through the runtime one transaction per batch of rows (import_leads); its
record in intake.imports adds each batch and is finished by the last one."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from leadloop_intake.adapters.tables import imports, leads, outbox
from leadloop_intake.bootstrap import create_app
from leadloop_intake.config import Settings

from .conftest import KEY

CSV = {"authorization": f"Bearer {KEY}", "content-type": "text/csv"}


@pytest.fixture
async def small_batches(intake_settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """Intake with batches of 3 rows (no relay needed: the outbox rows are read in place)."""
    app = create_app(intake_settings.model_copy(update={"import_batch_rows": 3}))
    yield httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://intake")
    await app.state.engine.dispose()


async def test_an_import_in_batches_is_recorded_once_with_its_totals(
    small_batches: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    rows = [f"batch{i}@trade-fair.io,Guest {i}" for i in range(8)]
    rows.insert(4, "not-an-email,Bad")
    body = ("email,first_name\n" + "\n".join(rows) + "\n").encode()
    async with small_batches as client:
        r = await client.post(
            "/v1/imports?source=event&campaign=fair-2026", content=body, headers=CSV
        )
    assert r.status_code == 200, r.text
    result = r.json()
    assert (result["rows_accepted"], result["rows_rejected"], result["new_leads"]) == (8, 1, 8)
    async with engine.connect() as conn:
        record = (
            await conn.execute(sa.select(imports).where(imports.c.import_id == result["import_id"]))
        ).one()
        emails = sa.select(leads.c.lead_id).where(leads.c.email.like("batch%@trade-fair.io"))
        captured = await conn.scalar(
            sa.select(sa.func.count())
            .select_from(outbox)
            .where(outbox.c.event_type == "leadloop.lead.captured.v1", outbox.c.key.in_(emails))
        )
    assert (record.rows_accepted, record.rows_rejected) == (8, 1)
    assert (record.source, record.campaign) == ("event", "fair-2026")
    assert record.finished_at is not None and record.finished_at >= record.received_at
    assert captured == 8


async def test_a_file_without_a_good_row_is_recorded_as_finished(
    small_batches: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    async with small_batches as client:
        r = await client.post("/v1/imports", content=b"email\nnope\n", headers=CSV)
    assert r.status_code == 200, r.text
    assert (r.json()["rows_accepted"], r.json()["rows_rejected"]) == (0, 1)
    async with engine.connect() as conn:
        record = (
            await conn.execute(
                sa.select(imports).where(imports.c.import_id == r.json()["import_id"])
            )
        ).one()
    assert (record.rows_accepted, record.rows_rejected) == (0, 1)
    assert record.finished_at is not None
