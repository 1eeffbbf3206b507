"""Scoring's HTTP routes: the agreement and score explanations."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from pydantic import BaseModel, ConfigDict

from leadloop_contract.agreement import AgreementInvalid
from leadloop_platform.auth.guard import require_scope
from leadloop_platform.auth.keys import Principal
from leadloop_platform.http.etags import ETAG_HEADER, not_modified, quoted
from leadloop_platform.http.paging import Page, PageRequest, page_example, page_of, page_request
from leadloop_platform.http.problems import (
    JSON_TYPES,
    YAML_TYPES,
    Problem,
    problem_response,
    require_media_type,
)
from leadloop_runtime import Transactions
from leadloop_scoring import agreement_handlers
from leadloop_scoring.adapters.repository import SqlRepository
from leadloop_scoring.adapters.uow import SqlUnitOfWork
from leadloop_scoring.adapters.views import score_view
from leadloop_scoring.agreement_handlers import PublishAgreement
from leadloop_scoring.domain.agreements import StoredAgreement, VersionConflict
from leadloop_scoring.entrypoints import rescore_http
from leadloop_scoring.entrypoints.examples import AGREEMENT_EXAMPLE, AGREEMENT_YAML, SCORE_EXAMPLE

router = APIRouter(prefix="/v1", tags=["scoring"])
router.include_router(rescore_http.router)  # GET /v1/rescore: re-scoring's progress
BY_PUBLICATION = page_request(datetime, str)
ANY_READER = require_scope("reports:read")


class AgreementOut(BaseModel):
    """A published agreement version: its stored document and checksum (its ETag)."""

    model_config = ConfigDict(json_schema_extra={"examples": [AGREEMENT_EXAMPLE]})
    version: str
    checksum: str
    published_at: datetime
    document: dict[str, Any]


class Published(AgreementOut):
    """What publishing did: a new version (or none), and how many leads wait to be re-scored."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [AGREEMENT_EXAMPLE | {"created": True, "leads_to_rescore": 1840}]
        }
    )
    created: bool
    leads_to_rescore: int


UNCHANGED_EXAMPLE = AGREEMENT_EXAMPLE | {"created": False, "leads_to_rescore": 0}


def _agreement_body(stored: StoredAgreement) -> dict[str, Any]:
    return {
        "version": stored.version,
        "checksum": stored.checksum,
        "published_at": stored.published_at.isoformat(),
        "document": stored.document,
    }


@router.get(
    "/agreement",
    summary="The agreement in force",
    dependencies=[Depends(ANY_READER)],
    responses={
        200: {
            "model": AgreementOut,
            "content": {
                "application/yaml": {"schema": {"type": "object"}, "example": AGREEMENT_YAML}
            },
            "headers": {"ETag": ETAG_HEADER},
        },
        304: {
            "description": "If-None-Match names the agreement's ETag: it has not changed",
            "headers": {"ETag": ETAG_HEADER},
        },
        404: {"description": "no agreement has been published yet"},
    },
)
async def get_agreement(
    request: Request, format: Annotated[str, Query(pattern="^(json|yaml)$")] = "json"
) -> Response:
    """The agreement in force; its ETag is its checksum, so a client can ask "changed since?"."""
    async with request.app.state.engine.connect() as conn:
        stored = await SqlRepository(conn).current_agreement()
    if stored is None:
        raise Problem(404, "no agreement has been published yet", kind="no-agreement")
    headers = {"ETag": quoted(stored.checksum)}
    if not_modified(request, headers["ETag"]):
        return Response(status_code=304, headers=headers)
    if format == "yaml":
        return PlainTextResponse(stored.source_yaml, media_type="application/yaml", headers=headers)
    return JSONResponse(_agreement_body(stored), headers=headers)


class VersionOut(BaseModel):
    version: str
    checksum: str
    published_at: datetime


VERSION_EXAMPLE = {
    "version": "2026-12",
    "checksum": "5f2b8c1e9a7d4b3c6e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d",
    "published_at": "2026-12-01T08:00:00+00:00",
}


@router.get(
    "/agreement/versions",
    response_model=Page[VersionOut],
    summary="Every published version, the latest first, a page at a time",
    dependencies=[Depends(ANY_READER)],
    responses=page_example(
        VERSION_EXAMPLE,
        next_url="/v1/agreement/versions?limit=1&cursor="
        "WyIyMDI2LTEyLTAxVDA4OjAwOjAwKzAwOjAwIiwiMjAyNi0xMiJd",
    ),
)
async def list_agreement_versions(
    request: Request, response: Response, page: Annotated[PageRequest, Depends(BY_PUBLICATION)]
) -> Page[VersionOut]:
    async with request.app.state.engine.connect() as conn:
        found = await SqlRepository(conn).agreement_versions(page)
    versions, next_url = page_of(
        found, page, request, response, key=lambda v: (v.published_at, v.version)
    )
    items = [
        VersionOut(version=v.version, checksum=v.checksum, published_at=v.published_at)
        for v in versions
    ]
    return Page[VersionOut](items=items, next=next_url)


@router.post(
    "/agreement",
    status_code=201,
    response_model=Published,
    summary="Publish a new agreement version (YAML body); ?rescore=true re-scores every lead",
    responses={
        200: {
            "model": Published,
            "description": "this version with this content was published before: nothing new",
            "content": {"application/json": {"example": UNCHANGED_EXAMPLE}},
        },
        422: {"description": "every error with its path"},
        409: {"description": "the version exists with other content"},
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/yaml": {"schema": {"type": "object"}, "example": AGREEMENT_YAML}
            },
        }
    },
)
async def publish_agreement(
    request: Request,
    principal: Annotated[Principal, Depends(require_scope("admin"))],
    rescore: bool = False,
) -> JSONResponse:
    require_media_type(request, (*YAML_TYPES, *JSON_TYPES))
    body = (await request.body()).decode("utf-8", "replace")
    command = PublishAgreement(body, published_by=principal.key_id, rescore=rescore)
    transactions: Transactions[SqlUnitOfWork] = request.app.state.transactions
    published = await transactions.run(agreement_handlers.publish_agreement, command)
    if published.leads_to_rescore:
        request.app.state.scheduler_wake()
    return JSONResponse(
        {
            **_agreement_body(published.agreement),
            "created": published.created,
            "leads_to_rescore": published.leads_to_rescore,
        },
        status_code=201 if published.created else 200,
        # the published version is the agreement in force
        headers={"Location": "/v1/agreement"} if published.created else None,
    )


@router.get(
    "/leads/{lead_id}/score",
    summary="The lead's current score, its breakdown and its stage history",
    dependencies=[Depends(ANY_READER)],
    responses={
        200: {"content": {"application/json": {"example": SCORE_EXAMPLE}}},
        404: {"description": "scoring knows no such lead"},
    },
)
async def get_score(request: Request, lead_id: str) -> dict[str, Any]:
    async with request.app.state.engine.connect() as conn:
        view = await score_view(conn, lead_id)
    if view is None:
        raise Problem(404, f"scoring knows no lead {lead_id}", kind="lead-not-found")
    lead = view["lead"]
    return {
        "lead_id": lead_id,
        "stage": lead["stage"],
        "fit": lead["fit"],
        "interest": lead["interest"],
        "total": lead["total"],
        "grade": lead["grade"],
        "interest_band": lead["interest_band"],
        "breakdown": lead["breakdown"],
        "agreement_version": lead["agreement_version"],
        "sources": lead["sources"],
        "campaigns": lead["campaigns"],
        "next_rescore_at": lead["next_rescore_at"],
        "erased": lead["erased_at"] is not None,
        "stage_history": view["stages"],
        "score_history": view["scores"],
    }


async def invalid_agreement(request: Request, exc: Exception) -> JSONResponse:
    """An invalid agreement: a 422 problem listing every error with its path."""
    assert isinstance(exc, AgreementInvalid)
    errors = [
        {
            "field": e["path"],
            "pointer": "/" + e["path"].replace(".", "/"),
            "message": e["reason"],
            "code": "invalid",
        }
        for e in exc.errors
    ]
    return problem_response(
        422,
        f"the agreement is invalid: {len(errors)} error(s)",
        kind="invalid-agreement",
        instance=request.url.path,
        errors=errors,
    )


async def version_conflict(request: Request, exc: Exception) -> JSONResponse:
    """A version published before with other content: a 409 problem."""
    return problem_response(
        409, str(exc), kind="agreement-version-exists", instance=request.url.path
    )


EXCEPTION_HANDLERS = {AgreementInvalid: invalid_agreement, VersionConflict: version_conflict}
