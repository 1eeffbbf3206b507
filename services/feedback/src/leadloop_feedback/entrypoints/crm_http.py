"""CRM in over HTTP: one item, a list, or {"items": [...]}; `crm:write` or a signed webhook."""

from __future__ import annotations

import functools
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar, cast

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, TypeAdapter, ValidationError

from leadloop_feedback import handlers
from leadloop_feedback.adapters.uow import SqlUnitOfWork
from leadloop_feedback.domain.crm import (
    Deal,
    Item,
    Outcome,
    RecordDeals,
    RecordStatusUpdates,
    RecordTouches,
    StatusUpdate,
    Touch,
)
from leadloop_platform.auth.guard import require_scope
from leadloop_platform.http.problems import (
    JSON_TYPES,
    Problem,
    require_media_type,
    validation_errors,
)
from leadloop_platform.webhooks import SignatureError, verify
from leadloop_runtime import Transactions

router = APIRouter(prefix="/v1/crm", tags=["crm"])
ItemT = TypeVar("ItemT", bound=Item)
CommandT = TypeVar("CommandT")
PROBLEMS: dict[int | str, dict[str, Any]] = {
    s: {"description": d, "content": {"application/problem+json": {}}}
    for s, d in [
        (401, "no key and no valid signature"),
        (403, "key lacks crm:write"),
        (
            409,
            "an impossible transition, a rejection without an agreed reason_code, "
            "or a crm_event_id reused with another body",
        ),
        (
            422,
            "invalid items (a time in the future, a currency not ISO 4217), unknown leads, "
            "a touch before any hand-off or by a rep no hand-off named",
        ),
    ]
}


async def signed_by_crm(request: Request) -> bool:
    """Whether the call carries a valid Standard Webhooks signature; False when it carries none
    (or a key decides), 401 when the one it carries is wrong or stale, 503 when it relies on a
    signature while no secret is configured."""
    secret = request.app.state.settings.crm_webhook_secret
    if "webhook-signature" not in request.headers:
        return False
    if secret is None:
        if "authorization" in request.headers:
            return False  # a key decides; the stray signature counts for nothing
        raise Problem(
            503,
            "CRM signatures are not configured: set LEADLOOP_CRM_WEBHOOK_SECRET "
            "or call with an API key",
            kind="not-configured",
        )
    try:
        verify(
            secret.get_secret_value(),
            await request.body(),
            msg_id=request.headers.get("webhook-id"),
            timestamp=request.headers.get("webhook-timestamp"),
            signature=request.headers.get("webhook-signature"),
            now=time.time(),
        )
    except SignatureError as exc:
        raise Problem(401, str(exc), kind="invalid-signature") from exc
    return True


CRM_WRITE = Depends(require_scope("crm:write", or_signed=signed_by_crm))


def inlined(schema: dict[str, Any]) -> dict[str, Any]:
    """A model's JSON schema with its `$defs` written in place, so that it stands anywhere in
    the OpenAPI document (a `#/$defs/...` reference would point at the document's root)."""
    defs = schema.pop("$defs", {})

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref", "")
            if ref.startswith("#/$defs/"):
                rest = {k: v for k, v in node.items() if k != "$ref"}
                return walk(defs[ref.removeprefix("#/$defs/")]) | rest
            return {k: walk(v) for k, v in node.items()}
        return [walk(v) for v in node] if isinstance(node, list) else node

    result: dict[str, Any] = walk(schema)
    return result


def body_schema(model: type[Item]) -> dict[str, Any]:
    """The request body as documented: one item, a list of items, or {"items": [...]}."""
    item = inlined(model.model_json_schema())
    items = {"type": "array", "items": item, "minItems": 1, "maxItems": 1000}
    batch = {
        "type": "object",
        "properties": {"items": items},
        "required": ["items"],
        "additionalProperties": False,
    }
    return {
        "required": True,
        "content": {
            "application/json": {
                "schema": {"oneOf": [item, items, batch]},
                "examples": {
                    "one": {"summary": "one item", "value": item["examples"][0]},
                    "batch": {"summary": "a batch", "value": {"items": item["examples"]}},
                },
            }
        },
    }


JSON: TypeAdapter[Any] = TypeAdapter(Any)


@functools.cache
def items_of(model: type[Item]) -> TypeAdapter[list[Item]]:
    """The validator of a list of `model` items, built once per model (building one costs
    more than validating a call's items)."""
    return TypeAdapter(list[model])  # type: ignore[valid-type]


def parse(model: type[ItemT], body: bytes, limit: int) -> list[ItemT]:
    """One object, a JSON list, or {"items": [...]}; every invalid field is named."""
    try:
        raw: Any = JSON.validate_json(body)
    except ValidationError as exc:
        raise Problem(400, "the body is not valid JSON", kind="malformed-json") from exc
    items = raw.get("items") if isinstance(raw, dict) and "items" in raw else raw
    items = items if isinstance(items, list) else [items]
    if not 1 <= len(items) <= limit:
        raise Problem(422, f"send between 1 and {limit} items", kind="validation-error")
    try:
        return cast(list[ItemT], items_of(model).validate_python(items))
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


async def accept(
    request: Request,
    model: type[ItemT],
    command: Callable[[Sequence[ItemT]], CommandT],
    handler: Callable[[SqlUnitOfWork, CommandT], Awaitable[Outcome]],
) -> JSONResponse:
    """Parse the items, run the command in one transaction; 202 if any item is new, else 200."""
    require_media_type(request, JSON_TYPES)
    items = parse(model, await request.body(), request.app.state.settings.max_crm_items)
    transactions: Transactions[SqlUnitOfWork] = request.app.state.transactions
    outcome = await transactions.run(handler, command(items))
    return JSONResponse({"accepted": outcome.accepted}, status_code=202 if outcome.fresh else 200)


class Accepted(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "accepted": [
                        {
                            "crm_event_id": "hs-evt-90211",
                            "event_id": "0d9c8b7a-6f5e-4d3c-9b2a-1f0e9d8c7b6a",
                            "duplicate": False,
                        }
                    ]
                }
            ]
        }
    )
    accepted: list[dict[str, Any]]


RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"model": Accepted, "description": "every item repeats an earlier call: its first ids"},
    **PROBLEMS,
}


@router.post(
    "/touches",
    status_code=202,
    response_model=Accepted,
    responses=RESPONSES,
    summary="Contact touches (email, call, meeting, social)",
    dependencies=[CRM_WRITE],
    openapi_extra={"requestBody": body_schema(Touch)},
)
async def record_touches(request: Request) -> JSONResponse:
    return await accept(request, Touch, RecordTouches, handlers.record_touches)


@router.post(
    "/status-updates",
    status_code=202,
    response_model=Accepted,
    responses=RESPONSES,
    summary="Lead status changes (accepted, working, rejected with a reason, ...)",
    dependencies=[CRM_WRITE],
    openapi_extra={"requestBody": body_schema(StatusUpdate)},
)
async def record_status_updates(request: Request) -> JSONResponse:
    return await accept(request, StatusUpdate, RecordStatusUpdates, handlers.record_status_updates)


@router.post(
    "/deals",
    status_code=202,
    response_model=Accepted,
    responses=RESPONSES,
    summary="Opportunities created, deals won or lost",
    dependencies=[CRM_WRITE],
    openapi_extra={"requestBody": body_schema(Deal)},
)
async def record_deals(request: Request) -> JSONResponse:
    return await accept(request, Deal, RecordDeals, handlers.record_deals)
