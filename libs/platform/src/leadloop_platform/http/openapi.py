"""The problems the HTTP edge itself answers, documented once for every operation: 401 and 403
with the route's scope, 413 for bodies, 415 for a body of another type, 400 for malformed JSON,
422 as problem+json (not FastAPI's default validation body), 503 when a dependency is down."""

from __future__ import annotations

import copy
import json
from typing import Any, Literal

from fastapi import FastAPI
from fastapi.encoders import jsonable_encoder
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute, iter_route_contexts
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from leadloop_platform.auth.guard import route_scope
from leadloop_platform.http.problems import PROBLEM_JSON

SECURITY_SCHEME = "apiKey"
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
FORM = "application/x-www-form-urlencoded"
REF = "#/components/schemas/{model}"
LOCATION_HEADER = {"description": "where the created resource is", "schema": {"type": "string"}}
RETRY_AFTER_HEADER = {
    "description": "seconds to wait before retrying",
    "schema": {"type": "integer", "minimum": 1},
}


class FieldError(BaseModel):
    pointer: str = Field(description="JSON pointer to the field, e.g. /activities/1/email")
    field: str = Field(description="the field's dotted path, e.g. activities.1.email")
    message: str
    code: str


class ProblemDocument(BaseModel):
    """An RFC 9457 problem details document."""

    type: str = Field(description="https://leadloop.dev/problems/<kind>")
    title: str
    status: int
    detail: str
    instance: str | None = None
    errors: list[FieldError] | None = Field(
        default=None, description="one entry per invalid field or refused item"
    )


class Health(BaseModel):
    """`GET /healthz`: the process is alive and its background tasks run."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"status": "ok"}]})
    status: Literal["ok"]


class Readiness(BaseModel):
    """`GET /readyz`: every dependency answered."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"status": "ready", "checks": {"postgres": "ok", "broker": "ok"}}]
        }
    )
    status: Literal["ready"]
    checks: dict[str, str] = Field(description="each dependency checked: ok")


METRICS_EXAMPLE = """\
# HELP leadloop_http_requests_total HTTP requests answered, by route template and status code.
# TYPE leadloop_http_requests_total counter
leadloop_http_requests_total{method="POST",route="/v1/form-submissions",service="intake",\
status="202"} 1042.0
# HELP leadloop_outbox_backlog_records Outbox rows not yet acknowledged by the broker.
# TYPE leadloop_outbox_backlog_records gauge
leadloop_outbox_backlog_records{service="intake"} 0.0
"""
OPENMETRICS_EXAMPLE = """\
# HELP leadloop_http_requests HTTP requests answered, by route template and status code.
# TYPE leadloop_http_requests counter
leadloop_http_requests_total{method="POST",route="/v1/form-submissions",service="intake",\
status="202"} 1042.0
# HELP leadloop_outbox_backlog_records Outbox rows not yet acknowledged by the broker.
# TYPE leadloop_outbox_backlog_records gauge
leadloop_outbox_backlog_records{service="intake"} 0.0
# EOF
"""
METRICS_OPERATION: dict[str, Any] = {
    "tags": ["operations"],
    "summary": "The process's metrics, for Prometheus",
    "operationId": "scrape_metrics",
    "responses": {
        "200": {
            "description": "Prometheus text, or OpenMetrics when the scraper asks for it",
            "content": {
                "text/plain": {"schema": {"type": "string"}, "example": METRICS_EXAMPLE},
                "application/openmetrics-text": {
                    "schema": {"type": "string"},
                    "example": OPENMETRICS_EXAMPLE,
                },
            },
        }
    },
}

EDGE_PROBLEMS = {
    "400": "the body is not valid JSON",
    "401": "missing, unknown or revoked API key",
    "403": "the API key lacks the scope",
    "413": "the body is larger than the limit",
    "415": "the body's content type is not one this operation accepts (named in `detail`)",
    "422": "invalid fields, each named in `errors`",
    "503": "a dependency (database or broker) is unavailable; retry after Retry-After",
}


def _problem(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {PROBLEM_JSON: {"schema": {"$ref": REF.format(model="ProblemDocument")}}},
    }


def _document(operation: dict[str, Any], method: str, scope: str | None) -> None:
    responses: dict[str, Any] = operation.setdefault("responses", {})
    wanted = ["503"]
    if scope is not None:
        operation["security"] = [{SECURITY_SCHEME: [scope]}]
        wanted += ["401", "403"]
    if method in BODY_METHODS:
        wanted.append("413")
        body = operation.get("requestBody", {}).get("content", {})
        if "application/json" in body:
            wanted.append("400")
        if set(body) - {FORM}:  # a form route reads what it is given as its form
            wanted.append("415")
    for status in wanted:
        responses.setdefault(status, {"description": EDGE_PROBLEMS[status]})
    for status, response in responses.items():
        content = response.get("content") or {}
        # FastAPI fills error responses with application/json (or nothing); the edge answers
        # problem+json. Error pages for people (text/html) keep what their route documents.
        if int(status) >= 400 and set(content) <= {"application/json", PROBLEM_JSON}:
            described = response.get("description")
            if described in (None, "", "Validation Error"):  # FastAPI's default says less
                described = EDGE_PROBLEMS.get(status, "a problem document")
            responses[status] = _problem(described)
            if status == "503":
                responses[status]["headers"] = {"Retry-After": RETRY_AFTER_HEADER}
    if "201" in responses:
        responses["201"].setdefault("headers", {})["Location"] = LOCATION_HEADER
    operation["responses"] = dict(sorted(responses.items()))


def _model_examples(app: FastAPI) -> dict[str, list[Any]]:
    """Each body model's examples by name, as the model gives them (nulls included)."""
    found: dict[str, list[Any]] = {}
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if not isinstance(route, APIRoute) or not context.include_in_schema:
            continue
        kinds = [route.response_model, *(r.get("model") for r in route.responses.values())]
        if route.body_field is not None:
            kinds.append(route.body_field.field_info.annotation)
        for kind in kinds:
            for mode in ("validation", "serialization") if kind is not None else ():
                schema = TypeAdapter(kind).json_schema(mode=mode)
                for name, sub in {schema.get("title"): schema, **schema.get("$defs", {})}.items():
                    if name and "examples" in sub:
                        found[name] = sub["examples"]
    return found


def _restore_examples(app: FastAPI, schemas: dict[str, Any]) -> None:
    """Put back the nulls of the models' examples: FastAPI drops every null from the document,
    so an example of a field that is required but may be null would no longer be valid."""
    examples = _model_examples(app)
    for name, schema in schemas.items():
        model = name.removesuffix("-Input").removesuffix("-Output")
        if "examples" in schema and model in examples:
            schema["examples"] = examples[model]


def _restore_route_examples(operation: dict[str, Any], route: APIRoute) -> None:
    """The examples a route gives for its bodies, with their nulls (as `_restore_examples`)."""
    given = [(operation.get("requestBody"), (route.openapi_extra or {}).get("requestBody"))]
    given += [(operation["responses"].get(str(k)), v) for k, v in route.responses.items()]
    for documented, declared in given:
        for media, content in ((declared or {}).get("content") or {}).items():
            if documented is not None and "example" in content:
                documented["content"][media]["example"] = jsonable_encoder(content["example"])


def document_edge(app: FastAPI) -> None:
    """Make `app.openapi()` list, on every operation, the problems the edge answers."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(
            title=app.title,
            version=app.version,
            description=app.description,
            routes=app.routes,
        )
        components = schema.setdefault("components", {})
        schemas = components.setdefault("schemas", {})
        problem = ProblemDocument.model_json_schema(ref_template=REF)
        schemas.update(problem.pop("$defs"), ProblemDocument=problem)
        _restore_examples(app, schemas)
        components["securitySchemes"] = {
            SECURITY_SCHEME: {
                "type": "http",
                "scheme": "bearer",
                "description": "an API key (`leadloop api-keys create`); the operation's "
                "security lists the scope it needs (admin may do everything)",
            }
        }
        for route in iter_route_contexts(app.routes):
            if not isinstance(route.original_route, APIRoute) or not route.include_in_schema:
                continue
            scope = route_scope(route)
            for method in route.methods or ():
                operation = schema["paths"][route.path_format].get(method.lower())
                if operation is not None:
                    _document(operation, method, scope)
                    _restore_route_examples(operation, route.original_route)
        # prometheus_client's ASGI endpoint is no FastAPI route: documented here.
        schema["paths"]["/metrics"] = {"get": copy.deepcopy(METRICS_OPERATION)}
        _document(schema["paths"]["/metrics"]["get"], "GET", None)
        for unused in ("HTTPValidationError", "ValidationError"):
            if REF.format(model=unused) not in json.dumps(schema):
                schemas.pop(unused, None)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
