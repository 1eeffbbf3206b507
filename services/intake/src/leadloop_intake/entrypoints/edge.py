"""Edge concerns of intake's routes, as FastAPI dependencies: the caller's key, idempotency
keys and HubSpot's signature. Handlers know nothing of them."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Header, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import ValidationError

from leadloop_connectors.hubspot import signature
from leadloop_intake.adapters.uow import SqlUnitOfWork
from leadloop_intake.config import Settings
from leadloop_intake.domain.errors import IdempotencyKeyReused, NotConfigured, SignatureRejected
from leadloop_intake.domain.hubspot_contact import to_form_submission as contact_form
from leadloop_intake.domain.model import FormSubmission
from leadloop_intake.domain.ports import IntakeUnitOfWork
from leadloop_platform.auth.guard import require_scope
from leadloop_platform.auth.keys import Principal
from leadloop_platform.http.problems import (
    JSON_TYPES,
    Problem,
    require_media_type,
    validation_errors,
)
from leadloop_runtime import GroupCommit, Transactions

C = TypeVar("C")
R = TypeVar("R")
Answer = tuple[int, dict[str, Any], str | None]
"""A route's answer to a handler's result: status, body, and the lead it concerns."""
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", max_length=255)]
Writer = Annotated[Principal, Depends(require_scope("intake:write"))]
HUBSPOT_CALLER = "hubspot-webhook"
"""Whose idempotency keys HubSpot's signed calls are (they carry no API key)."""


def settings_of(request: Request) -> Settings:
    """The service's settings."""
    settings: Settings = request.app.state.settings
    return settings


def transactions_of(request: Request) -> Transactions[SqlUnitOfWork]:
    """The runtime's runner: opens the unit of work, runs the handler, commits once."""
    transactions: Transactions[SqlUnitOfWork] = request.app.state.transactions
    return transactions


def commit_group_of(request: Request) -> GroupCommit[SqlUnitOfWork]:
    """The runner of the commands concurrent requests commit together (group commit)."""
    group: GroupCommit[SqlUnitOfWork] = request.app.state.commit_group
    return group


def fingerprint(body: bytes) -> str:
    """What tells a retry (the same body) from a reused key."""
    return hashlib.sha256(body).hexdigest()


@dataclass(frozen=True)
class Once:
    """A request's idempotency key: one answer per (caller, scope, key) within `ttl`; a retry
    gets the first answer back, another caller's key or an expired one is a new key."""

    caller: str
    scope: str
    key: str | None
    fingerprint: str
    ttl: timedelta

    async def run(
        self,
        group: GroupCommit[SqlUnitOfWork],
        handler: Callable[[IntakeUnitOfWork, C], Awaitable[R]],
        command: C,
        answer: Callable[[R], Answer],
    ) -> JSONResponse:
        """The handler's answer, or the first one given under the key (`Idempotent-Replayed`).
        Requests with the same key are never in one group: the second waits for the first's
        commit, as it would alone."""
        distinct = None if self.key is None else (self.caller, self.scope, self.key)
        status, body, replayed = await group.run(
            self.within, handler, command, answer, distinct=distinct
        )
        headers = {"Idempotent-Replayed": "true"} if replayed else {}
        return JSONResponse(body, status_code=status, headers=headers)

    async def within(
        self,
        uow: IntakeUnitOfWork,
        handler: Callable[[IntakeUnitOfWork, C], Awaitable[R]],
        command: C,
        answer: Callable[[R], Answer],
    ) -> tuple[int, dict[str, Any], bool]:
        """Claim the key and run the handler in one unit of work: both commit or neither."""
        if self.key is None:
            status, body, _ = answer(await handler(uow, command))
            return status, body, False
        repo = uow.repo
        now = datetime.now(UTC)
        stored = await repo.claim_idempotency_key(
            self.caller, self.scope, self.key, self.fingerprint, now, self.ttl
        )
        if stored is not None:
            if stored.fingerprint != self.fingerprint:
                raise IdempotencyKeyReused(self.key)
            return stored.status_code, dict(stored.response), True
        status, body, lead_id = answer(await handler(uow, command))
        await repo.store_idempotent_response(
            self.caller, self.scope, self.key, status, body, lead_id
        )
        return status, body, False


def once_per_key(scope: str) -> Callable[..., Awaitable[Once]]:
    """A dependency: the caller's `Idempotency-Key` for `scope` (none: every call runs)."""

    async def once(request: Request, caller: Writer, key: IdempotencyKey = None) -> Once:
        ttl = timedelta(hours=settings_of(request).idempotency_ttl_hours)
        return Once(caller.key_id, scope, key, fingerprint(await request.body()), ttl)

    return once


async def hubspot_signed_body(request: Request) -> bytes:
    """The body of a HubSpot call, once its v3 signature proves it is HubSpot's and fresh
    (SignatureRejected otherwise). HubSpot signs the URL it called: behind a proxy,
    LEADLOOP_PUBLIC_BASE_URL names it."""
    settings = settings_of(request)
    require_media_type(request, JSON_TYPES)
    if settings.hubspot_client_secret is None:
        raise NotConfigured("LEADLOOP_HUBSPOT_CLIENT_SECRET is not set")
    raw = await request.body()
    uri = str(request.url)
    if settings.public_base_url:
        uri = settings.public_base_url.rstrip("/") + request.url.path
        if request.url.query:
            uri += "?" + request.url.query
    try:
        signature.verify_v3(
            secret=settings.hubspot_client_secret.get_secret_value(),
            method=request.method,
            uri=uri,
            body=raw,
            timestamp=request.headers.get(signature.TIMESTAMP_HEADER),
            signature=request.headers.get(signature.SIGNATURE_HEADER),
            now_ms=int(time.time() * 1000),
            max_age_s=settings.hubspot_max_age_s,
        )
    except signature.SignatureInvalid as exc:
        raise SignatureRejected(str(exc)) from exc
    return raw


async def hubspot_contact(
    request: Request,
    x_hubspot_signature_v3: Annotated[str | None, Header()] = None,
    x_hubspot_request_timestamp: Annotated[str | None, Header()] = None,
) -> FormSubmission:
    """HubSpot's signed call, verified, as the form submission its contact properties make
    (the headers are declared for the API document; hubspot_signed_body reads them)."""
    raw = await hubspot_signed_body(request)
    return _contact(raw, settings_of(request).hubspot_industry_map)


def _contact(raw: bytes, industries: dict[str, str]) -> FormSubmission:
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
        return FormSubmission.model_validate(contact_form(payload, industries))
    except ValidationError as exc:
        errors = validation_errors(exc.errors())
        raise Problem(
            422,
            "invalid contact properties: " + ", ".join(e["field"] for e in errors),
            kind="validation-error",
            errors=errors,
        ) from exc


async def hubspot_once(request: Request) -> Once:
    """HubSpot retries a failed call with the same body: answer it once (the body is the key)."""
    key = fingerprint(await request.body())
    ttl = timedelta(hours=settings_of(request).idempotency_ttl_hours)
    return Once(HUBSPOT_CALLER, "hubspot", key, key, ttl)


def _said(message: str) -> str:
    """Pydantic's message as part of a sentence: `Field required` -> `field required`."""
    message = message.removeprefix("Value error, ")
    return message[:1].lower() + message[1:]


def named_fields(exc: RequestValidationError) -> Problem:
    """A 422 whose detail names each field and what is wrong with it, one after the other:
    `occurred_at: field required` (or `activities.0.occurred_at: ...` in a batch)."""
    errors = [e | {"message": _said(e["message"])} for e in validation_errors(exc.errors())]
    detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
    return Problem(422, detail, kind="validation-error", errors=errors)


class NamedFieldsRoute(APIRoute):
    """A route whose invalid JSON body is answered by `named_fields`; malformed JSON and bodies
    of another content type are left to the platform's problem handlers."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()

        async def named(request: Request) -> Response:
            try:
                return await handle(request)
            except RequestValidationError as exc:
                media = request.headers.get("content-type", "").split(";")[0].strip().lower()
                json_body = media == "application/json" or media.endswith("+json")
                if not json_body or any(e.get("type") == "json_invalid" for e in exc.errors()):
                    raise
                raise named_fields(exc) from exc

        return named
