"""CSV import: spool the upload to disk, then validate it and hand it to `import_leads` in
batches of rows, one transaction each."""

from __future__ import annotations

import asyncio
import itertools
import tempfile
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

from fastapi import Request

from leadloop_intake import handlers
from leadloop_intake.config import Settings
from leadloop_intake.domain import csvimport
from leadloop_intake.domain.commands import CaptureLead, ImportLeads
from leadloop_intake.domain.csvlines import BoundedLines
from leadloop_intake.entrypoints.edge import transactions_of
from leadloop_intake.entrypoints.schemas import ImportResult, RowError
from leadloop_platform.http.problems import Problem, media_type_of, require_media_type
from leadloop_platform.logs import correlation_id

SPOOL_IN_MEMORY = 1024 * 1024
CSV_TYPES = ("text/csv", "multipart/form-data")


async def _spool(request: Request) -> tempfile.SpooledTemporaryFile[bytes]:
    """The request body on disk (beyond 1 MiB), whatever its size: memory stays bounded."""
    # The caller closes it (run_import's `with`).
    spool: tempfile.SpooledTemporaryFile[bytes] = tempfile.SpooledTemporaryFile(  # noqa: SIM115
        SPOOL_IN_MEMORY
    )
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


async def run_import(request: Request, *, source: str | None, campaign: str | None) -> ImportResult:
    """Import every good row; report every bad one with its line number and reasons."""
    with await _spool(request) as spool:
        # Read in bounded chunks: a row wider than MAX_ROW_BYTES is reported, never held whole.
        rows = csvimport.parse(BoundedLines(spool), source=source, campaign=campaign)
        try:
            first = await asyncio.to_thread(lambda: list(itertools.islice(rows, 1)))
        except ValueError as exc:
            raise Problem(422, f"not an importable CSV: {exc}", kind="invalid-csv") from exc
        return await _write_rows(request, first, rows, source=source, campaign=campaign)


def _good_rows(rows: list[csvimport.Row], errors: list[RowError], cid: str) -> list[CaptureLead]:
    """The rows to capture; the bad ones reported in `errors` (up to the reported maximum)."""
    good: list[CaptureLead] = []
    for row in rows:
        if row.submission is None:
            if len(errors) < csvimport.MAX_ERRORS_REPORTED:
                errors.append(RowError(line=row.line, errors=row.errors))
        else:
            raw = csvimport.raw_json(row)
            good.append(CaptureLead(row.submission, "import", raw, correlation_id=cid))
    return good


async def _write_rows(
    request: Request,
    first: list[csvimport.Row],
    rows: Iterator[csvimport.Row],
    *,
    source: str | None,
    campaign: str | None,
) -> ImportResult:
    """One transaction per batch of rows: a 100,000-row file is about 100 round trips."""
    settings: Settings = request.app.state.settings
    transactions = transactions_of(request)
    import_id = str(uuid.uuid4())
    received_at = datetime.now(UTC)
    cid = correlation_id.get() or import_id
    accepted = rejected = new_leads = 0
    errors: list[RowError] = []

    def more() -> list[csvimport.Row]:
        return list(itertools.islice(rows, settings.import_batch_rows))

    pending = first + await asyncio.to_thread(more)
    while True:
        good = _good_rows(pending, errors, cid)
        # Read ahead: the batch that finds the file's end marks the import finished.
        upcoming = await asyncio.to_thread(more) if pending else []
        batch = ImportLeads(
            import_id=import_id,
            rows=good,
            rejected=len(pending) - len(good),
            source=source,
            campaign=campaign,
            received_at=received_at,
            last=not upcoming,
        )
        done = await transactions.run(handlers.import_leads, batch)
        accepted += len(done)
        rejected += batch.rejected
        new_leads += sum(1 for d in done if d.is_new_lead)
        if not upcoming:
            break
        pending = upcoming
    return ImportResult(
        import_id=import_id,
        rows_accepted=accepted,
        rows_rejected=rejected,
        new_leads=new_leads,
        errors=errors,
        errors_truncated=rejected > len(errors),
    )
