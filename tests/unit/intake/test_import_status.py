"""An import's record through intake's handlers (in-memory fakes): each batch adds its counts,
new leads and rejected rows; a failure is kept; each capture's event names its import."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from leadloop_intake import handlers, import_handlers
from leadloop_intake.domain.commands import FailImport
from leadloop_intake.domain.errors import ImportNotFound

from .fakes import FakeUnitOfWork
from .test_handlers import batch, capture, run

BAD_ROW = {"line": 3, "errors": [{"field": "email", "message": "not a valid email address"}]}


def imported(email: str) -> handlers.CaptureLead:
    return replace(capture(email), channel="import", import_id="import-expo")


async def test_the_status_adds_each_batch_and_keeps_its_rejected_rows_in_order() -> None:
    uow = FakeUnitOfWork()
    first = replace(batch(imported("ana@acme.com"), rejected=1, last=False), errors=[BAD_ROW])
    await run(uow).run(import_handlers.import_leads, first)
    running = await run(uow).run(import_handlers.read_import, "import-expo")
    assert (running.state, running.rows_accepted, running.new_leads) == ("running", 1, 1)
    later = {**BAD_ROW, "line": 9}
    second = replace(
        batch(imported("ANA@acme.com"), imported("bo@globex.io"), rejected=1), errors=[later]
    )
    await run(uow).run(import_handlers.import_leads, second)
    done = await run(uow).run(import_handlers.read_import, "import-expo")
    assert done.state == "finished"
    assert (done.rows_accepted, done.rows_rejected, done.new_leads) == (3, 2, 2)
    assert [e["line"] for e in done.errors] == [3, 9]


async def test_each_captured_event_names_its_import_and_a_form_fill_none() -> None:
    uow = FakeUnitOfWork()
    await run(uow).run(import_handlers.import_leads, batch(imported("ana@acme.com")))
    await run(uow).run(handlers.capture_lead, capture("bo@globex.io"))
    imported_event, form_event = uow.events("leadloop.lead.captured.v1")
    assert imported_event.data["import_id"] == "import-expo"
    assert "import_id" not in form_event.data


async def test_a_failed_import_keeps_its_counts_and_says_why() -> None:
    uow = FakeUnitOfWork()
    await run(uow).run(import_handlers.import_leads, batch(imported("ana@acme.com"), last=False))
    await run(uow).run(import_handlers.fail_import, FailImport("import-expo", "OSError: disk full"))
    status = await run(uow).run(import_handlers.read_import, "import-expo")
    assert (status.state, status.failure, status.rows_accepted) == (
        "failed",
        "OSError: disk full",
        1,
    )
    assert status.received_at == datetime(2026, 11, 20, 9, tzinfo=UTC)


async def test_an_unknown_import_is_not_found() -> None:
    with pytest.raises(ImportNotFound):
        await run(FakeUnitOfWork()).run(import_handlers.read_import, "no-such-import")
    with pytest.raises(ImportNotFound):
        await run(FakeUnitOfWork()).run(
            import_handlers.fail_import, FailImport("no-such-import", "x")
        )
