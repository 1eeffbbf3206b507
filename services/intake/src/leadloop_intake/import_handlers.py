"""Intake's CSV import commands; the runtime commits each (Transactions.run).

ImportLeads   -> leads, submissions, import  -> leadloop.lead.captured.v1 per good row
FailImport    -> the import's failure
FollowImport  -> the import's state (a writer gone quiet: failed, with the line it reached)
(read_import) -> the import's counts, first rejected rows and state

A batch's rows are captured as form fills are (`handlers.capture_leads`).
"""

from __future__ import annotations

from datetime import UTC, datetime

from leadloop_intake.domain.commands import Captured, FailImport, FollowImport, ImportLeads
from leadloop_intake.domain.errors import ImportNotFound, ImportStopped
from leadloop_intake.domain.lead import ImportProgress, ImportStatus, stopped_while_writing
from leadloop_intake.domain.ports import IntakeUnitOfWork
from leadloop_intake.handlers import capture_leads

__all__ = [
    "FailImport",
    "FollowImport",
    "ImportLeads",
    "fail_import",
    "follow_import",
    "import_leads",
    "read_import",
]


async def import_leads(uow: IntakeUnitOfWork, command: ImportLeads) -> list[Captured]:
    """Capture a batch of an import's good rows and add the batch to the import's record
    (ImportStopped, nothing written, when the import already failed)."""
    done = await capture_leads(uow, command.rows)
    now = datetime.now(UTC)
    progress = ImportProgress(
        import_id=command.import_id,
        source=command.source,
        campaign=command.campaign,
        received_at=command.received_at,
        rows_accepted=len(done),
        rows_rejected=command.rejected,
        finished_at=now if command.last else None,
        new_leads=sum(1 for d in done if d.is_new_lead),
        errors=list(command.errors),
        updated_at=now,
        last_line=command.last_line,
    )
    if not await uow.repo.record_import(progress):
        raise ImportStopped(command.import_id)
    return done


async def fail_import(uow: IntakeUnitOfWork, command: FailImport) -> None:
    """A background import stopped: its record keeps what it wrote and says why it stopped."""
    status = await uow.repo.import_status(command.import_id)
    if status is None:
        raise ImportNotFound(command.import_id)
    failed = ImportProgress(
        import_id=command.import_id,
        source=status.source,
        campaign=status.campaign,
        received_at=status.received_at,
        rows_accepted=0,
        rows_rejected=0,
        finished_at=None,
        failure=command.failure,
    )
    await uow.repo.record_import(failed)


async def follow_import(uow: IntakeUnitOfWork, query: FollowImport) -> ImportStatus:
    """The import's state; `running` with no batch written for `stale_after` means its writer
    stopped (a process killed, on any replica): it ends failed, naming the line it reached."""
    status = await read_import(uow, query.import_id)
    if not status.writer_gone(query.now, query.stale_after):
        return status
    await uow.repo.fail_stale_import(status, stopped_while_writing(status.last_line))
    return await read_import(uow, query.import_id)


async def read_import(uow: IntakeUnitOfWork, import_id: str) -> ImportStatus:
    """The import's counts so far, its first rejected rows and its state (ImportNotFound)."""
    status = await uow.repo.import_status(import_id)
    if status is None:
        raise ImportNotFound(import_id)
    return status
