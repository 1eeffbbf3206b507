"""An import whose writer stopped (each batch's commit is its heartbeat) ends `failed`, naming
the last line written; its writer then writes nothing more; re-importing makes no duplicate."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from leadloop_intake import import_handlers
from leadloop_intake.domain.commands import FollowImport
from leadloop_intake.domain.errors import ImportStopped
from leadloop_intake.domain.lead import ImportStatus

from .fakes import FakeUnitOfWork
from .test_handlers import batch, run
from .test_import_status import imported

BOUND = timedelta(seconds=60)


async def _first_batch_through_line(uow: FakeUnitOfWork, line: int) -> ImportStatus:
    """The import's first batch written (rows to `line`), more to come: then the writer died."""
    first = replace(batch(imported("ana@acme.com"), last=False), last_line=line)
    await run(uow).run(import_handlers.import_leads, first)
    return await run(uow).run(import_handlers.read_import, "import-expo")


async def _follow(uow: FakeUnitOfWork, at: ImportStatus, later: timedelta) -> ImportStatus:
    assert at.updated_at is not None
    query = FollowImport("import-expo", at.updated_at + later, BOUND)
    return await run(uow).run(import_handlers.follow_import, query)


async def test_a_writer_quiet_past_the_bound_fails_its_import_naming_the_line() -> None:
    uow = FakeUnitOfWork()
    written = await _first_batch_through_line(uow, 1001)
    still = await _follow(uow, written, timedelta(seconds=59))
    assert (still.state, still.failure) == ("running", None)
    gone = await _follow(uow, written, timedelta(seconds=61))
    assert gone.state == "failed"
    assert gone.failure is not None
    assert "intake stopped while writing this import" in gone.failure
    assert "the rows through line 1001 were written" in gone.failure
    assert gone.rows_accepted == 1


async def test_a_writer_that_wrote_nothing_is_said_to_have_written_no_row() -> None:
    uow = FakeUnitOfWork()
    await run(uow).run(import_handlers.import_leads, batch(last=False))
    started = await run(uow).run(import_handlers.read_import, "import-expo")
    gone = await _follow(uow, started, timedelta(minutes=5))
    assert gone.failure is not None and "no row was written" in gone.failure


async def test_a_finished_import_never_goes_stale() -> None:
    uow = FakeUnitOfWork()
    await run(uow).run(import_handlers.import_leads, batch(imported("ana@acme.com")))
    done = await run(uow).run(import_handlers.read_import, "import-expo")
    later = await _follow(uow, done, timedelta(days=2))
    assert (later.state, later.failure) == ("finished", None)


async def test_a_writer_found_gone_writes_no_further_batch() -> None:
    uow = FakeUnitOfWork()
    written = await _first_batch_through_line(uow, 1001)
    await _follow(uow, written, timedelta(seconds=61))
    events_before = len(uow.events("leadloop.lead.captured.v1"))
    late = replace(batch(imported("bo@globex.io"), last=False), last_line=2001)
    with pytest.raises(ImportStopped):
        await run(uow).run(import_handlers.import_leads, late)
    after = await run(uow).run(import_handlers.read_import, "import-expo")
    assert (after.rows_accepted, after.last_line, after.state) == (1, 1001, "failed")
    assert len(uow.events("leadloop.lead.captured.v1")) == events_before


async def test_re_importing_a_captured_row_updates_its_lead_as_a_form_fill_does() -> None:
    uow = FakeUnitOfWork()
    await _first_batch_through_line(uow, 2)
    again = replace(
        batch(imported("Ana@Acme.com"), imported("bo@globex.io")), import_id="import-again"
    )
    done = await run(uow).run(import_handlers.import_leads, again)
    assert [d.is_new_lead for d in done] == [False, True]
    assert len(uow.repo.leads) == 2
    [first, repeat, _] = uow.events("leadloop.lead.captured.v1")
    assert repeat.data["lead_id"] == first.data["lead_id"] == done[0].lead_id
    assert (first.data["is_new_lead"], repeat.data["is_new_lead"]) == (True, False)
