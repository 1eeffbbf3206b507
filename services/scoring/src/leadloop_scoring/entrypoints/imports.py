"""How far scoring has come through a CSV import's captures (intake owns the import itself),
and the worker purging those counts after their retention."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi import APIRouter, Depends, Path, Request
from pydantic import BaseModel, ConfigDict

from leadloop_platform.auth.guard import require_scope
from leadloop_runtime import Periodic, Transactions
from leadloop_scoring.adapters.import_scores import PURGE_BATCH, purge_scored_before, scored
from leadloop_scoring.adapters.uow import SqlUnitOfWork
from leadloop_scoring.config import Settings

router = APIRouter(prefix="/v1", tags=["scoring"])


class ImportScoring(BaseModel):
    """The captures of the import scored so far: compare with intake's `rows_accepted`."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"import_id": "5e6f7a8b-9c0d-4e1f-a2b3-c4d5e6f7a8b9", "captures_scored": 41990}
            ]
        }
    )
    import_id: str
    captures_scored: int


@router.get(
    "/imports/{import_id}/scoring",
    response_model=ImportScoring,
    responses={
        s: {"description": d, "content": {"application/problem+json": {}}}
        for s, d in [(401, "missing or unknown key"), (403, "key lacks the scope")]
    },
    summary="How many of a CSV import's captured rows scoring has scored",
    dependencies=[Depends(require_scope("reports:read"))],
)
async def get_import_scoring(
    request: Request, import_id: str = Path(max_length=64)
) -> ImportScoring:
    """Each `lead.captured` naming the import counts once, when its scoring commits; an import
    scoring has not heard of (yet) has 0."""
    async with request.app.state.engine.connect() as conn:
        count = await scored(conn, import_id)
    return ImportScoring(import_id=import_id, captures_scored=count)


def import_scores_retention(
    transactions: Transactions[SqlUnitOfWork], settings: Settings
) -> Periodic:
    """The worker deleting the counts of captures scored longer ago than the retention."""
    retention = timedelta(days=settings.import_scores_retention_days)

    async def purge_round() -> int:
        before = datetime.now(UTC) - retention
        return await transactions.run(purge_scored_before, before)

    return Periodic(
        "import-scores-retention",
        purge_round,
        settings.import_scores_purge_interval_s,
        batch=PURGE_BATCH,
    )
