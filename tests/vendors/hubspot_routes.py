"""The fake HubSpot API's handlers (its documentation is quoted in tests/vendors/hubspot.py)."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

if TYPE_CHECKING:
    from .hubspot import FakeHubSpot

Handler = Callable[[Request], Awaitable[Response]]
DEFAULT_PROPERTIES = ("hs_object_id", "createdate", "lastmodifieddate")


def error(status: int, message: str, **extra: Any) -> JSONResponse:
    """HubSpot's error body: status "error", a message, a correlation id, a category."""
    body = {"status": "error", "message": message, "correlationId": str(uuid.uuid4()), **extra}
    return JSONResponse(body, status_code=status)


def now() -> str:
    """The current time as HubSpot writes it (ISO 8601, milliseconds, Z)."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _handler(action: Callable[[FakeHubSpot, Request], Awaitable[Response]]):
    """Bind an action to the fake, behind its gate (record, auth, injected failures)."""

    def bind(fake: FakeHubSpot) -> Handler:
        async def handle(request: Request) -> Response:
            return await fake.gate(request) or await action(fake, request)

        return handle

    return bind


def _not_found(object_id: str) -> Response:
    return error(
        404,
        "Object not found.  objectId are usually numeric.",
        category="OBJECT_NOT_FOUND",
        context={"id": [object_id]},
    )


def _view(record: dict[str, Any], wanted: list[str]) -> dict[str, Any]:
    """The record with the asked-for properties (null when unset) and the defaults."""
    props = record["properties"]
    names = [*DEFAULT_PROPERTIES, *wanted]
    return {**record, "properties": {n: props.get(n) for n in dict.fromkeys(names)}}


def _wanted(request: Request) -> list[str]:
    return [p for v in request.query_params.getlist("properties") for p in v.split(",") if p]


def _matches(props: dict[str, Any], f: dict[str, Any]) -> bool:
    value = props.get(f["propertyName"])
    op = f.get("operator", "EQ")
    if op == "HAS_PROPERTY":
        return value not in (None, "")
    if op == "IN":
        return str(value).lower() in [str(v).lower() for v in f.get("values", [])]
    same = value is not None and str(value).lower() == str(f.get("value")).lower()
    return same if op == "EQ" else not same


@_handler
async def get_object(fake: FakeHubSpot, request: Request) -> Response:
    kind, oid = request.path_params["type"], request.path_params["id"]
    record = fake.objects.get(kind, {}).get(oid)
    return JSONResponse(_view(record, _wanted(request))) if record else _not_found(oid)


@_handler
async def patch_object(fake: FakeHubSpot, request: Request) -> Response:
    kind, oid = request.path_params["type"], request.path_params["id"]
    record = fake.objects.get(kind, {}).get(oid)
    if record is None:
        return _not_found(oid)
    changes = (await request.json()).get("properties", {})
    record["properties"].update({k: None if v is None else str(v) for k, v in changes.items()})
    record["updatedAt"] = record["properties"]["lastmodifieddate"] = now()
    return JSONResponse(_view(record, list(changes)))


@_handler
async def create_object(fake: FakeHubSpot, request: Request) -> Response:
    kind = request.path_params["type"]
    body = await request.json()
    props = body.get("properties") or {}
    if kind == "contacts" and props.get("email"):
        for record in fake.records("contacts"):
            if str(record["properties"].get("email", "")).lower() == props["email"].lower():
                return error(
                    409, f"Contact already exists. Existing ID: {record['id']}", category="CONFLICT"
                )
    if kind == "tasks" and not props.get("hs_timestamp"):
        return error(
            400,
            "Property values were not valid: hs_timestamp is required",
            category="VALIDATION_ERROR",
        )
    oid = fake.seed(kind, props)
    for assoc in body.get("associations") or []:
        to_id = str(assoc["to"]["id"])
        target = next((t for t, rows in fake.objects.items() if to_id in rows), None)
        if target is None:
            return _not_found(to_id)
        for spec in assoc["types"]:
            fake.associate(kind, oid, target, to_id, int(spec["associationTypeId"]))
    return JSONResponse(_view(fake.objects[kind][oid], list(props)), status_code=201)


@_handler
async def search_objects(fake: FakeHubSpot, request: Request) -> Response:
    kind = request.path_params["type"]
    query = await request.json()
    groups = query.get("filterGroups") or [{"filters": []}]
    hits = [
        r
        for r in fake.records(kind)
        if any(all(_matches(r["properties"], f) for f in g.get("filters", [])) for g in groups)
    ]
    start, limit = int(query.get("after") or 0), int(query.get("limit") or 10)
    page = hits[start : start + limit]
    body: dict[str, Any] = {
        "total": len(hits),
        "results": [_view(r, query.get("properties") or []) for r in page],
    }
    if start + limit < len(hits):
        body["paging"] = {"next": {"after": str(start + limit)}}
    return JSONResponse(body)


@_handler
async def list_associations(fake: FakeHubSpot, request: Request) -> Response:
    p = request.path_params
    if p["id"] not in fake.objects.get(p["type"], {}):
        return _not_found(p["id"])
    rows = fake.associations.get((p["type"], p["id"], p["to_type"]), {})
    results = [
        {
            "toObjectId": int(to_id),
            "associationTypes": [{"category": "HUBSPOT_DEFINED", "typeId": t, "label": None}],
        }
        for to_id, t in rows.items()
    ]
    return JSONResponse({"results": results})


@_handler
async def list_owners(fake: FakeHubSpot, request: Request) -> Response:
    archived = request.query_params.get("archived", "false") == "true"
    chosen = [o for o in fake.owners if o["archived"] == archived]
    limit = min(int(request.query_params.get("limit", "100")), fake.owners_page_size)
    start = int(request.query_params.get("after") or 0)
    body: dict[str, Any] = {"results": chosen[start : start + limit]}
    if start + limit < len(chosen):
        after = str(start + limit)
        body["paging"] = {
            "next": {"after": after, "link": f"{fake.url}/crm/v3/owners?after={after}"}
        }
    return JSONResponse(body)


routes = [
    ("/crm/v3/owners", list_owners, ["GET"]),
    ("/crm/v3/objects/{type}/search", search_objects, ["POST"]),
    ("/crm/v3/objects/{type}", create_object, ["POST"]),
    ("/crm/v3/objects/{type}/{id}", get_object, ["GET"]),
    ("/crm/v3/objects/{type}/{id}", patch_object, ["PATCH"]),
    ("/crm/v4/objects/{type}/{id}/associations/{to_type}", list_associations, ["GET"]),
]
