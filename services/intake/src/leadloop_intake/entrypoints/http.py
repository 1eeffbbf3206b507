"""Intake's HTTP routes. They only translate: request -> command -> the runtime's
`transactions.run(handler, command)` -> response; edge concerns are dependencies (edge.py).
Form fills, HubSpot webhook calls and activities go through the group commit instead
(`commit_group_of`): concurrent requests share a transaction, each with its own answer."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Header, Query, Request
from fastapi.responses import JSONResponse

from leadloop_intake import handlers
from leadloop_intake.domain.commands import Captured, CaptureLead, EraseLead, RecordActivities
from leadloop_intake.domain.lead import Submission
from leadloop_intake.domain.model import ActivitiesBody, ActivityBatch, Channel, FormSubmission
from leadloop_intake.entrypoints import imports
from leadloop_intake.entrypoints.edge import (
    Answer,
    NamedFieldsRoute,
    Once,
    commit_group_of,
    hubspot_contact,
    hubspot_once,
    once_per_key,
    transactions_of,
)
from leadloop_intake.entrypoints.schemas import (
    Accepted,
    ActivitiesAccepted,
    Erased,
    ImportResult,
    ImportStatusView,
    LeadView,
    SubmissionView,
)
from leadloop_platform.auth.guard import require_scope
from leadloop_platform.logs import correlation_id

router = APIRouter(prefix="/v1", tags=["intake"])
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

CSV_EXAMPLE = (
    "email,first name,company,employees,country\n"
    "ana.lopez@acme-dental.com,Ana,Acme Dental,250,DE\n"
    "ben.okafor@northwind-clinics.com,Ben,Northwind Clinics,40,GB\n"
)


def _accepted(done: Captured) -> Answer:
    body = Accepted(lead_id=done.lead_id, submission_id=done.submission_id).model_dump()
    return 202, body, done.lead_id


async def _capture(
    request: Request, submission: FormSubmission, channel: Channel, once: Once
) -> JSONResponse:
    raw = (await request.body()).decode("utf-8", "replace")
    command = CaptureLead(submission, channel, raw, correlation_id=correlation_id.get())
    return await once.run(commit_group_of(request), handlers.capture_lead, command, _accepted)


@router.post(
    "/form-submissions",
    status_code=202,
    response_model=Accepted,
    responses=PROBLEMS,
    summary="Accept a form fill",
)
async def create_form_submission(
    request: Request,
    submission: FormSubmission,
    once: Annotated[Once, Depends(once_per_key("form-submissions"))],
) -> JSONResponse:
    """Store the form fill, upsert the lead by normalized email, publish lead.captured."""
    return await _capture(request, submission, "form", once)


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
                    },
                    "example": {
                        "properties": {
                            "email": {"value": "ana.lopez@acme-dental.com"},
                            "firstname": {"value": "Ana"},
                            "company": {"value": "Acme Dental"},
                            "numemployees": {"value": "250"},
                            "hs_analytics_source": {"value": "ORGANIC_SEARCH"},
                        }
                    },
                }
            },
        }
    },
)
async def receive_hubspot_contact(
    request: Request,
    submission: Annotated[FormSubmission, Depends(hubspot_contact)],
    once: Annotated[Once, Depends(hubspot_once)],
) -> JSONResponse:
    """Verify HubSpot's signature, map the contact's properties, capture the lead."""
    return await _capture(request, submission, "hubspot", once)


async def record_activities_batch(
    request: Request,
    payload: Annotated[ActivitiesBody, Body()],
    once: Annotated[Once, Depends(once_per_key("activities"))],
) -> JSONResponse:
    """All activities of a batch are accepted together or refused together."""
    items = payload.activities if isinstance(payload, ActivityBatch) else [payload]
    command = RecordActivities(items, correlation_id.get())

    def answer(ids: list[str]) -> Answer:
        return 202, ActivitiesAccepted(activity_ids=ids).model_dump(), None

    return await once.run(commit_group_of(request), handlers.record_activities, command, answer)


# Its 422 says what is wrong in words (`occurred_at: field required`), one field after another.
router.add_api_route(
    "/activities",
    record_activities_batch,
    methods=["POST"],
    status_code=202,
    response_model=ActivitiesAccepted,
    responses=PROBLEMS,
    summary="Record one activity or a batch of up to 1,000",
    route_class_override=NamedFieldsRoute,
)


IMPORT_BODY = {
    "required": True,
    "content": {
        "text/csv": {"schema": {"type": "string"}, "example": CSV_EXAMPLE},
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "properties": {"file": {"type": "string", "format": "binary"}},
                "required": ["file"],
            },
            "example": {"file": CSV_EXAMPLE},
        },
    },
}
RESPOND_ASYNC = "respond-async"


@router.post(
    "/imports",
    response_model=ImportResult,
    responses={
        **PROBLEMS,
        202: {
            "model": ImportStatusView,
            "description": "with `Prefer: respond-async`: the file is received and its header "
            "read; its rows are written after this answer (`Location`: the import's status)",
        },
    },
    summary="Import a CSV list of leads (text/csv body or multipart `file`)",
    dependencies=[Depends(require_scope("intake:write"))],
    openapi_extra={"requestBody": IMPORT_BODY},
)
async def import_leads(
    request: Request,
    source: Annotated[str | None, Query(max_length=100)] = "import",
    campaign: Annotated[str | None, Query(max_length=200)] = None,
    prefer: Annotated[str | None, Header(max_length=200)] = None,
) -> Any:
    """Streamed to disk, validated row by row, written in batches; bad rows are reported.

    `Prefer: respond-async` answers 202 once the file is received, before its rows are written.
    """
    if prefer is None or RESPOND_ASYNC not in {p.strip() for p in prefer.lower().split(",")}:
        return await imports.run_import(request, source=source, campaign=campaign)
    status = await imports.start_import(request, source=source, campaign=campaign)
    body = imports.status_view(status, IMPORT_ERRORS_SHOWN).model_dump(mode="json")
    headers = {"Location": f"/v1/imports/{status.import_id}", "Preference-Applied": RESPOND_ASYNC}
    return JSONResponse(body, status_code=202, headers=headers)


IMPORT_ERRORS_SHOWN = 100


@router.get(
    "/imports/{import_id}",
    response_model=ImportStatusView,
    responses={**PROBLEMS, 404: {"description": "no such import"}},
    summary="An import's progress: rows read, accepted and rejected, its first errors, its state",
    dependencies=[Depends(require_scope("intake:write"))],
)
async def get_import(
    request: Request,
    import_id: str,
    errors: Annotated[int, Query(ge=0, le=1000)] = IMPORT_ERRORS_SHOWN,
) -> ImportStatusView:
    """Counts so far (each batch adds its own as it commits); `state` ends `finished`, or
    `failed` with the reason (a writer gone quiet: the last line written)."""
    return imports.status_view(await imports.follow(request, import_id), errors)


@router.get(
    "/leads/{lead_id}",
    response_model=LeadView,
    responses={404: PROBLEMS[401] | {"description": "no such lead"}},
    summary="A lead's identity and submissions",
    dependencies=[Depends(require_scope("intake:write"))],
)
async def get_lead(request: Request, lead_id: str) -> LeadView:
    details = await transactions_of(request).run(handlers.read_lead, lead_id)
    fields = {f: getattr(details.lead, f) for f in LeadView.model_fields if f != "submissions"}
    return LeadView(**fields, submissions=[_submission_view(s) for s in details.submissions])


def _submission_view(submission: Submission) -> SubmissionView:
    fields = {f: getattr(submission, f) for f in SubmissionView.model_fields if f != "raw"}
    return SubmissionView(**fields, raw=_parse_raw(submission.raw))


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
async def erase_lead_data(request: Request, lead_id: str) -> Erased:
    command = EraseLead(lead_id, correlation_id=correlation_id.get())
    erased_at = await transactions_of(request).run(handlers.erase_lead, command)
    return Erased(lead_id=lead_id, erased_at=erased_at)
