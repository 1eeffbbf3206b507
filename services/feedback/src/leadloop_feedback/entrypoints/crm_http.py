"""CRM in over HTTP: one item, a list, or {"items": [...]}; `crm:write` or a signed webhook."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, TypeAdapter, ValidationError

from leadloop_feedback.crm import Deal, Item, StatusUpdate, Touch, record
from leadloop_platform.auth.guard import require_scope
from leadloop_platform.http.problems import Problem, validation_errors
from leadloop_platform.webhooks import SignatureError, verify

router = APIRouter(prefix="/v1/crm", tags=["crm"])
CRM_WRITE = require_scope("crm:write")
PROBLEMS: dict[int | str, dict[str, Any]] = {
    s: {"description": d, "content": {"application/problem+json": {}}}
    for s, d in [
        (401, "no key and no valid signature"),
        (403, "key lacks crm:write"),
        (409, "an impossible transition"),
        (422, "invalid items or unknown leads"),
    ]
}


async def authorize(request: Request, body: bytes) -> None:
    """A Standard Webhooks signature (when the secret is set and the headers are there), or a
    Bearer key with `crm:write`."""
    secret = request.app.state.settings.crm_webhook_secret
    if secret is not None and "webhook-signature" in request.headers:
        try:
            verify(
                secret.get_secret_value(),
                body,
                msg_id=request.headers.get("webhook-id"),
                timestamp=request.headers.get("webhook-timestamp"),
                signature=request.headers.get("webhook-signature"),
                now=time.time(),
            )
        except SignatureError as exc:
            raise Problem(401, str(exc), kind="invalid-signature") from exc
        return
    await CRM_WRITE(request)


def parse(model: type[Item], body: bytes, limit: int) -> list[Item]:
    """One object, a JSON list, or {"items": [...]}; every invalid field is named."""
    try:
        raw: Any = TypeAdapter(Any).validate_json(body)
    except ValidationError as exc:
        raise Problem(400, "the body is not valid JSON", kind="malformed-json") from exc
    items = raw.get("items") if isinstance(raw, dict) and "items" in raw else raw
    items = items if isinstance(items, list) else [items]
    if not 1 <= len(items) <= limit:
        raise Problem(422, f"send between 1 and {limit} items", kind="validation-error")
    try:
        return list(TypeAdapter(list[model]).validate_python(items))  # type: ignore[valid-type]
    except ValidationError as exc:
        errors = [
            {**e, "pointer": "/items" + e["pointer"], "field": "items." + e["field"]}
            for e in validation_errors(exc.errors())
        ]
        raise Problem(
            422,
            "invalid items: " + ", ".join(e["field"] for e in errors),
            kind="validation-error",
            errors=errors,
        ) from exc


async def accept(request: Request, kind: str, model: type[Item]) -> JSONResponse:
    body = await request.body()
    await authorize(request, body)
    items = parse(model, body, request.app.state.settings.max_crm_items)
    async with request.app.state.uow() as uow:
        outcome = await record(uow, kind, items, datetime.now(UTC))
        await uow.commit()
    fresh = any(not a["duplicate"] for a in outcome.accepted)
    return JSONResponse({"accepted": outcome.accepted}, status_code=202 if fresh else 200)


class Accepted(BaseModel):
    accepted: list[dict[str, Any]]


@router.post(
    "/touches",
    status_code=202,
    response_model=Accepted,
    responses=PROBLEMS,
    summary="Contact touches (email, call, meeting, social)",
    openapi_extra={
        "requestBody": {"content": {"application/json": {"schema": Touch.model_json_schema()}}}
    },
)
async def post_touches(request: Request) -> JSONResponse:
    return await accept(request, "touch", Touch)


@router.post(
    "/status-updates",
    status_code=202,
    response_model=Accepted,
    responses=PROBLEMS,
    summary="Lead status changes (accepted, working, rejected with a reason, ...)",
    openapi_extra={
        "requestBody": {
            "content": {"application/json": {"schema": StatusUpdate.model_json_schema()}}
        }
    },
)
async def post_status_updates(request: Request) -> JSONResponse:
    return await accept(request, "status", StatusUpdate)


@router.post(
    "/deals",
    status_code=202,
    response_model=Accepted,
    responses=PROBLEMS,
    summary="Opportunities created, deals won or lost",
    openapi_extra={
        "requestBody": {"content": {"application/json": {"schema": Deal.model_json_schema()}}}
    },
)
async def post_deals(request: Request) -> JSONResponse:
    return await accept(request, "deal", Deal)
