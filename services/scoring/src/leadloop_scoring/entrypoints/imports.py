"""How far scoring has come through a CSV import's captures (intake owns the import itself)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Path, Request
from pydantic import BaseModel, ConfigDict

from leadloop_platform.auth.guard import require_scope
from leadloop_scoring.adapters.import_scores import scored

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
