"""RFC 9457 problem details: every error leaves an HTTP edge as application/problem+json."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

PROBLEM_JSON = "application/problem+json"
# SQLSTATEs for text PostgreSQL cannot store (a NUL character, in text or in jsonb): the request's
# fault whatever field carried it, so a 422, not a 500.
UNSTORABLE_TEXT = frozenset({"22021", "22P05"})
TYPE_BASE = "https://leadloop.dev/problems/"
# A 503 says when to try again: long enough for a restart or a dependency to come back.
RETRY_AFTER_S = 5
# ...except what only an operator can fix (a secret to set, then a restart): ask again later.
RETRY_AFTER_BY_KIND = {"not-configured": 300}
log = logging.getLogger(__name__)

_TITLES = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    410: "Gone",
    412: "Precondition failed",
    413: "Content too large",
    415: "Unsupported media type",
    422: "Unprocessable content",
    500: "Internal server error",
    503: "Service unavailable",
}


class Problem(Exception):
    """Raise from a route or handler to answer with a problem document."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        kind: str | None = None,
        title: str | None = None,
        errors: Sequence[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.kind = kind or _TITLES.get(status, "error").lower().replace(" ", "-")
        self.title = title or _TITLES.get(status, "Error")
        self.errors = list(errors or [])
        self.headers = headers


JSON_TYPES = ("application/json",)  # and any application/*+json
YAML_TYPES = ("application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml")


def media_type_of(request: Request) -> str:
    """The request body's declared media type, without parameters, lower case ("" if none)."""
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


def is_accepted(media: str, accepted: Sequence[str]) -> bool:
    """Whether `media` is one of `accepted` (application/json also takes any +json type)."""
    if media in accepted:
        return True
    return (
        "application/json" in accepted
        and media.startswith("application/")
        and (media.endswith("+json"))
    )


def unsupported_media_type(media: str, accepted: Sequence[str]) -> Problem:
    """The 415 for a body of another type, naming the types this endpoint accepts."""
    names = ", ".join(accepted) + (" (or +json)" if "application/json" in accepted else "")
    return Problem(
        415,
        f"this endpoint does not accept {media}; send {names}",
        kind="unsupported-media-type",
        errors=[{"pointer": "", "field": "content-type", "message": f"use {names}", "code": "415"}],
    )


def require_media_type(request: Request, accepted: Sequence[str]) -> None:
    """Raise a 415 when the body declares a type not in `accepted`; an undeclared one passes."""
    media = media_type_of(request)
    if media and not is_accepted(media, accepted):
        raise unsupported_media_type(media, accepted)


def problem_response(
    status: int,
    detail: str,
    *,
    kind: str,
    title: str | None = None,
    instance: str | None = None,
    errors: Sequence[dict[str, Any]] = (),
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    """Build the problem+json response itself."""
    body: dict[str, Any] = {
        "type": TYPE_BASE + kind,
        "title": title or _TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
    }
    if instance:
        body["instance"] = instance
    if errors:
        body["errors"] = list(errors)
    if status == 503 and not any(k.lower() == "retry-after" for k in headers or {}):
        wait = RETRY_AFTER_BY_KIND.get(kind, RETRY_AFTER_S)
        headers = {**(headers or {}), "Retry-After": str(wait)}
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def json_pointer(parts: Sequence[Any]) -> str:
    """RFC 6901: `""` is the whole document; `~` and `/` inside a name are escaped."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def validation_errors(raw: Sequence[Any]) -> list[dict[str, Any]]:
    """Pydantic errors as `{pointer, field, message}` entries naming each field."""
    out = []
    for err in raw:
        loc = [str(p) for p in err.get("loc", ()) if p not in ("body",)]
        message = err.get("msg", "invalid")
        if err.get("type") == "json_invalid":
            # pydantic locates malformed JSON by character offset: the error is the whole body's
            where = f" at character {loc[0]}" if loc else ""
            reason = (err.get("ctx") or {}).get("error")
            message = f"{message}{where}" + (f": {reason}" if reason else "")
            loc = []
        out.append(
            {
                "pointer": json_pointer(loc),
                "field": ".".join(loc) or "body",
                "message": message,
                "code": err.get("type", "invalid"),
            }
        )
    return out


def install_problem_handlers(app: FastAPI) -> None:
    """Map every error FastAPI can raise onto a problem document."""
    app.add_exception_handler(Problem, _on_problem)
    app.add_exception_handler(RequestValidationError, _on_validation)
    app.add_exception_handler(StarletteHTTPException, _on_http)
    app.add_exception_handler(DBAPIError, _on_data_error)
    app.add_exception_handler(OperationalError, _on_unavailable)
    app.add_exception_handler(InterfaceError, _on_unavailable)
    app.add_exception_handler(OSError, _on_unavailable)
    app.add_exception_handler(Exception, _on_unexpected)


async def _on_problem(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, Problem)
    return problem_response(
        exc.status,
        exc.detail,
        kind=exc.kind,
        title=exc.title,
        instance=request.url.path,
        errors=exc.errors,
        headers=exc.headers,
    )


async def _on_validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    media = media_type_of(request)
    if media and _takes_json(request) and not is_accepted(media, JSON_TYPES):
        # FastAPI reads a body of another type as bytes and then fails to validate it
        return await _on_problem(request, unsupported_media_type(media, JSON_TYPES))
    errors = validation_errors(exc.errors())
    if any(e["code"] == "json_invalid" for e in errors):
        return problem_response(
            400,
            "the body is not valid JSON",
            kind="malformed-json",
            instance=request.url.path,
            errors=errors,
        )
    fields = ", ".join(e["field"] for e in errors)
    return problem_response(
        422,
        f"invalid fields: {fields}",
        kind="validation-error",
        instance=request.url.path,
        errors=errors,
    )


def _takes_json(request: Request) -> bool:
    """Whether the matched route reads a JSON body (not a form)."""
    route = request.scope.get("route")
    field = getattr(route, "body_field", None)
    if not isinstance(route, APIRoute) or field is None:
        return False
    return getattr(field.field_info, "media_type", "application/json") == "application/json"


async def _on_http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    return problem_response(
        exc.status_code,
        str(exc.detail),
        kind=_TITLES.get(exc.status_code, "error").lower().replace(" ", "-"),
        instance=request.url.path,
        headers=dict(exc.headers or {}),
    )


async def _on_unavailable(request: Request, exc: Exception) -> JSONResponse:
    log.warning("a dependency is unavailable on %s: %r", request.url.path, exc)
    return problem_response(
        503,
        "a dependency (database or broker) is unavailable; retry later",
        kind="unavailable",
        instance=request.url.path,
        headers={"Retry-After": str(RETRY_AFTER_S)},
    )


async def _on_data_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DBAPIError)
    if getattr(exc.orig, "sqlstate", None) in UNSTORABLE_TEXT:
        return problem_response(
            422,
            "a value holds a character that cannot be stored (such as NUL, \\u0000)",
            kind="validation-error",
            instance=request.url.path,
        )
    return await _on_unexpected(request, exc)


async def _on_unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return problem_response(
        500,
        "an unexpected error occurred; it has been logged",
        kind="internal-error",
        instance=request.url.path,
    )
