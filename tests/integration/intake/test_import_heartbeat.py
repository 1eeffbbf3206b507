"""An import whose writer stopped midway does not stay `running`: killed (its task gone, no
failure recorded), any replica reports it failed once its heartbeat is older than the bound;
shut down (the lifespan ending, as on SIGTERM), the writer ends after its batch and fails it.
Either way the failure names the last line written, and the counts agree with it."""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator
from typing import Any

import httpx

from leadloop_intake.bootstrap import create_app
from leadloop_intake.config import Settings
from leadloop_intake.entrypoints.import_writers import ImportWriters
from tests.waiting import wait_for

from .test_import_status import ASYNC_CSV, AUTH, HEADER, finished

ROWS = 600
BODY = (
    HEADER
    + "\n"
    + "".join(f"guest{i}@trade-fair.io,G{i},Fair Co,12,Retail,GB\n" for i in range(ROWS))
)


@contextlib.asynccontextmanager
async def replica(settings: Settings, **update: Any) -> AsyncIterator[httpx.AsyncClient]:
    """An intake app, its lifespan running; the client's `app` attribute reaches it."""
    app = create_app(settings.model_copy(update=update))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://intake") as client:
            client.app = app  # type: ignore[attr-defined]
            yield client


async def _start_and_see_a_batch(client: httpx.AsyncClient) -> str:
    r = await client.post("/v1/imports", content=BODY, headers=ASYNC_CSV)
    assert r.status_code == 202, r.text
    location = str(r.headers["location"])

    async def written() -> bool:
        return bool((await client.get(location, headers=AUTH)).json()["rows_read"] > 0)

    await wait_for(written, what="the import's first batch")
    return location


def _line_named(failure: str) -> int:
    found = re.search(r"the rows through line (\d+) were written", failure)
    assert found, failure
    return int(found.group(1))


async def test_an_import_whose_writer_was_killed_is_failed_by_another_replica(
    intake_settings: Settings,
) -> None:
    async with replica(intake_settings, import_batch_rows=2) as first:
        location = await _start_and_see_a_batch(first)
        writers: ImportWriters = first.app.state.import_writers  # type: ignore[attr-defined]
        [writing] = writers.tasks
        writing.cancel()  # as kill -9: the batch in hand rolled back, nothing more recorded
        await asyncio.wait([writing])
        seen = (await first.get(location, headers=AUTH)).json()
        assert (seen["state"], seen["failure"]) == ("running", None)
        assert seen["rows_read"] < ROWS
    async with replica(intake_settings, import_stale_after_s=0.05) as other:
        status = await finished(other, location)
    assert status["state"] == "failed"
    assert "intake stopped while writing this import" in status["failure"]
    # The header is line 1: the rows written are lines 2 .. rows_read + 1.
    assert _line_named(status["failure"]) == status["rows_read"] + 1
    assert status["rows_read"] == seen["rows_read"] < ROWS


async def test_an_import_written_while_intake_shuts_down_ends_failed_at_its_line(
    intake_settings: Settings,
) -> None:
    async with replica(intake_settings, import_batch_rows=2) as first:
        location = await _start_and_see_a_batch(first)
    # The lifespan ended (SIGTERM): the writer stopped after its batch and said so.
    async with replica(intake_settings) as other:
        status = (await other.get(location, headers=AUTH)).json()
    assert status["state"] == "failed", status
    assert _line_named(status["failure"]) == status["rows_read"] + 1
    assert 0 < status["rows_read"] < ROWS
