"""Scoring's HTTP read of re-scoring's progress (after `POST /v1/agreement?rescore=true`)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field

from leadloop_platform.auth.guard import require_scope
from leadloop_platform.http.problems import Problem
from leadloop_scoring.adapters.rescoring import rescore_progress

router = APIRouter(tags=["scoring"])  # included in http.router, under /v1

PROGRESS_EXAMPLE: dict[str, Any] = {
    "agreement_version": "2026-12",
    "published_at": "2026-12-01T08:00:00+00:00",
    "pending": 61400,
    "done": 38600,
    "per_second": 2140.5,
}


class RescoreProgress(BaseModel):
    """How far re-scoring under the agreement in force has come."""

    model_config = ConfigDict(json_schema_extra={"examples": [PROGRESS_EXAMPLE]})
    agreement_version: Annotated[str, Field(description="the agreement in force")]
    published_at: Annotated[datetime, Field(description="when that version was published")]
    pending: Annotated[int, Field(description="leads due for re-scoring now", ge=0)]
    done: Annotated[
        int, Field(description="leads scored under that version since it was published", ge=0)
    ]
    per_second: Annotated[
        float | None,
        Field(description="leads scored per second since the publication; null: none pending"),
    ]


@router.get(
    "/rescore",
    response_model=RescoreProgress,
    summary="Re-scoring's progress under the agreement in force: pending, done, rate",
    dependencies=[Depends(require_scope("reports:read"))],
    responses={
        200: {"content": {"application/json": {"example": PROGRESS_EXAMPLE}}},
        404: {"description": "no agreement has been published yet"},
    },
)
async def get_rescore_progress(request: Request) -> RescoreProgress:
    """Leads still due and leads done since the version in force was published; poll it until
    nothing is pending (`leadloop agreement publish FILE --rescore` does)."""
    async with request.app.state.engine.connect() as conn:
        progress = await rescore_progress(conn)
    if progress is None:
        raise Problem(404, "no agreement has been published yet", kind="no-agreement")
    return RescoreProgress(**progress)
