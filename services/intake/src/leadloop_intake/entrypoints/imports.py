"""CSV import: spool the upload to disk, then validate it and hand it to `import_leads` in
batches of rows, one transaction each. With `Prefer: respond-async` the batches are written
after the answer (202 and the import's status resource), so a client can follow them.

Each batch's commit is the writer's heartbeat: an import whose writer stopped (killed, or this
process shutting down) ends `failed`, naming the last line written, instead of `running` forever.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from fastapi import Request

from leadloop_intake import import_handlers
from leadloop_intake.adapters.uow import SqlUnitOfWork
from leadloop_intake.config import Settings
from leadloop_intake.domain import csvimport
from leadloop_intake.domain.commands import CaptureLead, FailImport, FollowImport, ImportLeads
from leadloop_intake.domain.csvlines import BoundedLines
from leadloop_intake.domain.errors import ImportStopped
from leadloop_intake.domain.lead import ImportStatus, stopped_while_writing
from leadloop_intake.entrypoints.edge import transactions_of
from leadloop_intake.entrypoints.import_writers import ImportWriters
from leadloop_intake.entrypoints.schemas import ImportResult, ImportStatusView, RowError
from leadloop_platform.http.problems import Problem, media_type_of, require_media_type
from leadloop_platform.logs import correlation_id
from leadloop_runtime import Transactions

SPOOL_IN_MEMORY = 1024 * 1024
CSV_TYPES = ("text/csv", "multipart/form-data")
Spool = tempfile.SpooledTemporaryFile[bytes]
log = logging.getLogger(__name__)


class WriterStopped(Exception):
    """The process is stopping: the writer ends after the batch it had in hand."""


async def _spool(request: Request) -> Spool:
    """The request body on disk (beyond 1 MiB), whatever its size: memory stays bounded."""
    # The caller closes it (the importer's `with`).
    spool: Spool = tempfile.SpooledTemporaryFile(SPOOL_IN_MEMORY)  # noqa: SIM115
    require_media_type(request, CSV_TYPES)
    if media_type_of(request) == "multipart/form-data":
        form = await request.form()
        upload = form.get("file")
        if upload is None or isinstance(upload, str):
            raise Problem(
                422, "multipart upload needs a `file` part holding the CSV", kind="validation-error"
            )
        while chunk := await upload.read(256 * 1024):
            spool.write(chunk)
    else:
        async for chunk in request.stream():
            spool.write(chunk)
    spool.seek(0)
    return spool


@dataclass
class Importer:
    """One import's batches, written in order, and what they added up to."""

    transactions: Transactions[SqlUnitOfWork]
    batch_rows: int
    source: str | None
    campaign: str | None
    import_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    received_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    cid: str = ""
    accepted: int = 0
    rejected: int = 0
    new_leads: int = 0
    errors: list[RowError] = field(default_factory=list)
    last_line: int | None = None
    stopping: asyncio.Event | None = None

    def __post_init__(self) -> None:
        self.cid = correlation_id.get() or self.import_id

    def batch(
        self,
        good: list[CaptureLead],
        rejected: int,
        last: bool,
        new: list[RowError],
        last_line: int | None = None,
    ) -> ImportLeads:
        """The command writing one batch (no row at all: the import's record alone)."""
        return ImportLeads(
            import_id=self.import_id,
            rows=good,
            rejected=rejected,
            source=self.source,
            campaign=self.campaign,
            received_at=self.received_at,
            last=last,
            errors=[e.model_dump() for e in new],
            last_line=last_line,
        )

    def _good_rows(self, rows: list[csvimport.Row]) -> tuple[list[CaptureLead], list[RowError]]:
        """The rows to capture, and the bad ones to report (up to the reported maximum)."""
        good: list[CaptureLead] = []
        reported: list[RowError] = []
        for row in rows:
            if row.submission is None:
                if len(self.errors) + len(reported) < csvimport.MAX_ERRORS_REPORTED:
                    reported.append(RowError(line=row.line, errors=row.errors))
            else:
                raw = csvimport.raw_json(row)
                good.append(
                    CaptureLead(
                        row.submission,
                        "import",
                        raw,
                        correlation_id=self.cid,
                        import_id=self.import_id,
                    )
                )
        return good, reported

    async def write(self, first: list[csvimport.Row], rows: Iterator[csvimport.Row]) -> None:
        """One transaction per batch of rows: a 100,000-row file is about 100 round trips.
        WriterStopped after a batch when the process is stopping."""

        def more() -> list[csvimport.Row]:
            return list(itertools.islice(rows, self.batch_rows))

        pending = first + await asyncio.to_thread(more)
        while True:
            good, reported = self._good_rows(pending)
            # Read ahead: the batch that finds the file's end marks the import finished.
            upcoming = await asyncio.to_thread(more) if pending else []
            rejected = len(pending) - len(good)
            line = pending[-1].line if pending else None
            command = self.batch(good, rejected, not upcoming, reported, line)
            done = await self.transactions.run(import_handlers.import_leads, command)
            self.last_line = line or self.last_line
            self.accepted += len(done)
            self.rejected += rejected
            self.new_leads += sum(1 for d in done if d.is_new_lead)
            self.errors += reported
            if not upcoming:
                return
            if self.stopping is not None and self.stopping.is_set():
                raise WriterStopped
            pending = upcoming

    def result(self) -> ImportResult:
        """The answer of an import written before answering."""
        return ImportResult(
            import_id=self.import_id,
            rows_accepted=self.accepted,
            rows_rejected=self.rejected,
            new_leads=self.new_leads,
            errors=self.errors,
            errors_truncated=self.rejected > len(self.errors),
        )


def _importer(request: Request, source: str | None, campaign: str | None) -> Importer:
    settings: Settings = request.app.state.settings
    return Importer(transactions_of(request), settings.import_batch_rows, source, campaign)


async def run_import(request: Request, *, source: str | None, campaign: str | None) -> ImportResult:
    """Import every good row; report every bad one with its line number and reasons."""
    importer = _importer(request, source, campaign)
    spool, first, rows = await _open_for(request, importer)
    with spool:
        await importer.write(first, rows)
    return importer.result()


async def _open_for(
    request: Request, importer: Importer
) -> tuple[Spool, list[csvimport.Row], Iterator[csvimport.Row]]:
    """`_open`, the rows taking the import's source and campaign where they name none."""
    spool = await _spool(request)
    rows = csvimport.parse(BoundedLines(spool), source=importer.source, campaign=importer.campaign)
    try:
        first = await asyncio.to_thread(lambda: list(itertools.islice(rows, 1)))
    except ValueError as exc:
        spool.close()
        raise Problem(422, f"not an importable CSV: {exc}", kind="invalid-csv") from exc
    return spool, first, rows


async def start_import(
    request: Request, *, source: str | None, campaign: str | None
) -> ImportStatus:
    """Answer as soon as the file is received and its header read; write it in the background.

    The import's record exists before the answer, so `GET /v1/imports/{id}` follows it batch by
    batch. Its task is kept by the app's ImportWriters, which stop it when the process stops.
    """
    writers: ImportWriters = request.app.state.import_writers
    importer = _importer(request, source, campaign)
    importer.stopping = writers.stopping
    spool, first, rows = await _open_for(request, importer)
    with contextlib.ExitStack() as unless_started:
        unless_started.callback(spool.close)  # the spool is the writer's once it starts
        status = await importer.transactions.run(_record_start, importer)
        unless_started.pop_all()
    writers.start(_in_background(importer, spool, first, rows))
    return status


async def _record_start(uow: SqlUnitOfWork, importer: Importer) -> ImportStatus:
    """The import's record with nothing written yet, as `GET /v1/imports/{id}` answers it."""
    await import_handlers.import_leads(uow, importer.batch([], 0, False, []))
    return await import_handlers.read_import(uow, importer.import_id)


async def _in_background(
    importer: Importer, spool: Spool, first: list[csvimport.Row], rows: Iterator[csvimport.Row]
) -> None:
    """Write the batches; a failure or the process stopping ends the import as `failed`, saying
    why; a failure is logged."""
    with spool:
        try:
            await importer.write(first, rows)
        except ImportStopped:
            # A replica found its heartbeat too old (a batch slower than the bound) and failed it.
            log.warning("import %s failed meanwhile: its writer stops", importer.import_id)
        except WriterStopped:
            failed = FailImport(importer.import_id, stopped_while_writing(importer.last_line))
            await importer.transactions.run(import_handlers.fail_import, failed)
        except Exception as exc:
            # Nobody awaits this task: the import's record is where the failure surfaces.
            log.exception("import %s failed after %d rows", importer.import_id, importer.accepted)
            reason = " ".join(str(exc).split()) or type(exc).__name__
            failed = FailImport(importer.import_id, f"{type(exc).__name__}: {reason}"[:2000])
            await importer.transactions.run(import_handlers.fail_import, failed)


async def follow(request: Request, import_id: str) -> ImportStatus:
    """The import's status, failed if its writer went quiet for longer than the bound."""
    settings: Settings = request.app.state.settings
    bound = timedelta(seconds=settings.import_stale_after_s)
    query = FollowImport(import_id, datetime.now(UTC), bound)
    return await transactions_of(request).run(import_handlers.follow_import, query)


def status_view(status: ImportStatus, errors_shown: int) -> ImportStatusView:
    """The status resource: counts so far, the first `errors_shown` rejected rows, the state."""
    shown = [RowError.model_validate(e) for e in status.errors[:errors_shown]]
    return ImportStatusView(
        import_id=status.import_id,
        state=status.state,
        source=status.source,
        campaign=status.campaign,
        rows_read=status.rows_accepted + status.rows_rejected,
        rows_accepted=status.rows_accepted,
        rows_rejected=status.rows_rejected,
        new_leads=status.new_leads,
        errors=shown,
        errors_truncated=status.rows_rejected > len(shown),
        received_at=status.received_at,
        finished_at=status.finished_at,
        failure=status.failure,
    )
