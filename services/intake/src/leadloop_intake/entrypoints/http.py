"""Intake's HTTP routes. They translate requests into commands; handlers do the work."""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Header, Query, Request
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from leadloop_intake import handlers
from leadloop_intake.adapters import repository as repo
from leadloop_intake.config import Settings
from leadloop_intake.domain import hubspot
from leadloop_intake.domain.errors import LeadNotFound, NotConfigured
from leadloop_intake.domain.model import ActivitiesBody, ActivityBatch, Channel, FormSubmission
from leadloop_intake.domain.ports import IntakeUnitOfWork
from leadloop_intake.entrypoints import imports
from leadloop_intake.entrypoints.schemas import (
    Accepted,
    ActivitiesAccepted,
    Erased,
    ImportResult,
    LeadView,
    SubmissionView,
)
from leadloop_platform.auth.guard import require_scope
from leadloop_platform.auth.keys import Principal
from leadloop_platform.http.problems import Problem, validation_errors
from leadloop_platform.logs import correlation_id
from leadloop_runtime import Transactions

router = APIRouter(prefix="/v1", tags=["intake"])
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", max_length=255)]
Writer = Annotated[Principal, Depends(require_scope("intake:write"))]
HUBSPOT_CALLER = "hubspot-webhook"
"""Whose idempotency keys HubSpot's signed calls are (they carry no API key)."""
PROBLEMS: dict[int | str, dict[str, Any]] = {
    s: {"description": d, "content": {"application/problem+json": {}}}
    for s, d in [
        (400, "malformed body"),
        (401, "missing or unknown key"),
        (403, "key lacks the scope"),
        (413, "body too large"),
        (422, "invalid fields, named in `errors`"),
    ]
}


def _transactions(request: Request) -> Transactions[Any]:
    """The runtime's runner: opens the unit of work, runs the handler, commits once."""
    transactions: Transactions[Any] = request.app.state.transactions
    return transactions


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def _once(
    request: Request,
    *,
    caller: str,
    scope: str,
    key: str | None,
    body: bytes,
    action: Callable[[IntakeUnitOfWork], Awaitable[handlers.Outcome]],
) -> JSONResponse:
    """Run `action` in one unit of work, once per caller's idempotency key."""
    ttl = timedelta(hours=_settings(request).idempotency_ttl_hours)

    async def run_once(uow: IntakeUnitOfWork) -> tuple[int, dict[str, Any], bool]:
        return await handlers.once(
            uow,
            caller=caller,
            scope=scope,
            key=key,
            body=body,
            ttl=ttl,
            action=lambda: action(uow),
        )

    status, answer, replayed = await _transactions(request).run(run_once)
    headers = {"Idempotent-Replayed": "true"} if replayed else {}
    return JSONResponse(answer, status_code=status, headers=headers)


async def _capture(
    request: Request,
    submission: FormSubmission,
    channel: Channel,
    key: str | None,
    scope: str,
    caller: str,
) -> JSONResponse:
    raw = await request.body()

    async def action(uow: IntakeUnitOfWork) -> handlers.Outcome:
        [done] = await handlers.capture_leads(
            uow,
            [
                handlers.CaptureLead(
                    submission,
                    channel,
                    raw.decode("utf-8", "replace"),
                    correlation_id=correlation_id.get(),
                )
            ],
        )
        body = Accepted(lead_id=done.lead_id, submission_id=done.submission_id).model_dump()
        return 202, body, done.lead_id

    return await _once(request, caller=caller, scope=scope, key=key, body=raw, action=action)


@router.post(
    "/form-submissions",
    status_code=202,
    response_model=Accepted,
    responses=PROBLEMS,
    summary="Accept a form fill",
)
async def post_form_submission(
    request: Request,
    submission: FormSubmission,
    caller: Writer,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Store the form fill, upsert the lead by normalized email, publish lead.captured."""
    return await _capture(
        request, submission, "form", idempotency_key, "form-submissions", caller.key_id
    )


@router.post(
    "/webhooks/hubspot",
    status_code=202,
    response_model=Accepted,
    responses=PROBLEMS,
    summary="HubSpot workflow webhook (signature v3)",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "description": "contact properties: flat, or "
                        '{"properties": {"email": {"value": "..."}}}',
                    }
                }
            },
        }
    },
)
async def post_hubspot(
    request: Request,
    x_hubspot_signature_v3: Annotated[str | None, Header()] = None,
    x_hubspot_request_timestamp: Annotated[str | None, Header()] = None,
) -> JSONResponse:
    """Verify HubSpot's signature, map the contact's properties, capture the lead."""
    settings = _settings(request)
    if settings.hubspot_client_secret is None:
        raise NotConfigured("LEADLOOP_HUBSPOT_CLIENT_SECRET is not set")
    raw = await request.body()
    uri = str(request.url)
    if settings.public_base_url:
        uri = settings.public_base_url.rstrip("/") + request.url.path
        if request.url.query:
            uri += "?" + request.url.query
    hubspot.verify_v3(
        secret=settings.hubspot_client_secret.get_secret_value(),
        method=request.method,
        uri=uri,
        body=raw,
        timestamp=x_hubspot_request_timestamp,
        signature=x_hubspot_signature_v3,
        now_ms=int(time.time() * 1000),
        max_age_s=settings.hubspot_max_age_s,
    )
    try:
        payload = json.loads(raw)
    except (ValueError, RecursionError) as exc:  # nested past the parser's recursion limit
        raise Problem(400, f"the body is not valid JSON: {exc}", kind="malformed-json") from exc
    if not isinstance(payload, dict):
        raise Problem(
            422,
            "HubSpot's webhook body must be a JSON object of contact properties",
            kind="validation-error",
        )
    try:
        submission = FormSubmission.model_validate(hubspot.to_form_submission(payload))
    except ValidationError as exc:
        errors = validation_errors(exc.errors())
        raise Problem(
            422,
            "invalid contact properties: " + ", ".join(e["field"] for e in errors),
            kind="validation-error",
            errors=errors,
        ) from exc
    # HubSpot retries a failed call with the same body: answer it once.
    key = handlers.fingerprint(raw)
    return await _capture(request, submission, "hubspot", key, "hubspot", HUBSPOT_CALLER)


@router.post(
    "/activities",
    status_code=202,
    response_model=ActivitiesAccepted,
    responses=PROBLEMS,
    summary="Record one activity or a batch of up to 1,000",
)
async def post_activities(
    request: Request,
    payload: Annotated[ActivitiesBody, Body()],
    caller: Writer,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """All activities of a batch are accepted together or refused together."""
    items = payload.activities if isinstance(payload, ActivityBatch) else [payload]
    raw = await request.body()

    async def action(uow: IntakeUnitOfWork) -> handlers.Outcome:
        ids = await handlers.record_activities(
            uow, handlers.RecordActivities(items, correlation_id.get())
        )
        return 202, ActivitiesAccepted(activity_ids=ids).model_dump(), None

    return await _once(
        request,
        caller=caller.key_id,
        scope="activities",
        key=idempotency_key,
        body=raw,
        action=action,
    )


@router.post(
    "/imports",
    response_model=ImportResult,
    responses=PROBLEMS,
    summary="Import a CSV list of leads (text/csv body or multipart `file`)",
    dependencies=[Depends(require_scope("intake:write"))],
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "text/csv": {"schema": {"type": "string"}},
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "properties": {"file": {"type": "string", "format": "binary"}},
                        "required": ["file"],
                    }
                },
            },
        }
    },
)
async def post_import(
    request: Request,
    source: Annotated[str | None, Query(max_length=100)] = "import",
    campaign: Annotated[str | None, Query(max_length=200)] = None,
) -> ImportResult:
    """Streamed to disk, validated row by row, written in batches; bad rows are reported."""
    return await imports.run_import(request, source=source, campaign=campaign)


@router.get(
    "/leads/{lead_id}",
    response_model=LeadView,
    responses={404: PROBLEMS[401] | {"description": "no such lead"}},
    summary="A lead's identity and submissions",
    dependencies=[Depends(require_scope("intake:write"))],
)
async def get_lead(request: Request, lead_id: str) -> LeadView:
    async with request.app.state.engine.connect() as conn:
        lead = await repo.get_lead(conn, lead_id)
        if lead is None:
            raise LeadNotFound(lead_id)
        subs = await repo.lead_submissions(conn, lead_id)
    return LeadView(
        **{k: v for k, v in lead._mapping.items() if k != "email_normalized"},
        submissions=[
            SubmissionView(
                **{
                    k: v
                    for k, v in s._mapping.items()
                    if k in SubmissionView.model_fields and k != "raw"
                },
                raw=_parse_raw(s.raw),
            )
            for s in subs
        ],
    )


def _parse_raw(raw: str) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return raw


@router.delete(
    "/leads/{lead_id}",
    status_code=202,
    response_model=Erased,
    responses={**PROBLEMS, 404: {"description": "no such lead"}},
    summary="Erase a person (GDPR): anonymize here, publish lead.erased for every service",
    dependencies=[Depends(require_scope("admin"))],
)
async def delete_lead(request: Request, lead_id: str) -> Erased:
    command = handlers.EraseLead(lead_id, correlation_id=correlation_id.get())
    erased_at = await _transactions(request).run(handlers.erase_lead, command)
    return Erased(lead_id=lead_id, erased_at=erased_at)
