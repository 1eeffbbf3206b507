"""A fake HubSpot CRM API (uvicorn in the test's event loop), answering as HubSpot documents.

- Auth: every call needs `Authorization: Bearer <private app token>`; otherwise 401 with
  `{"status": "error", "message": "Authentication credentials not found. ...", "correlationId",
  "category": "INVALID_AUTHENTICATION"}` (https://developers.hubspot.com/docs/api/error-handling).
- Objects (https://developers.hubspot.com/docs/api/crm/understanding-the-crm): `GET|PATCH
  /crm/v3/objects/{type}/{id}?properties=a,b`, `POST /crm/v3/objects/{type}` (201; a contact
  with a known email is a 409 "Contact already exists. Existing ID: <id>"), unknown ids 404
  `"category": "OBJECT_NOT_FOUND"`. Every property value is a string.
- Search (https://developers.hubspot.com/docs/api/crm/search): `POST .../{type}/search` with
  `filterGroups` (groups ORed, filters ANDed; EQ, NEQ, HAS_PROPERTY, IN), `properties`, `limit`,
  `after`; answers `{"total", "results", "paging": {"next": {"after"}}}`. Unlike HubSpot's index,
  the fake's search sees writes at once (no lag).
- Tasks (https://developers.hubspot.com/docs/api/crm/tasks): created with `associations: [{"to":
  {"id"}, "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 204}]}]`.
- Associations v4 (https://developers.hubspot.com/docs/api/crm/associations): `GET
  /crm/v4/objects/{type}/{id}/associations/{toType}` → `{"results": [{"toObjectId",
  "associationTypes": [{"category", "typeId", "label"}]}]}`.
- Owners (https://developers.hubspot.com/docs/api/crm/owners): `GET /crm/v3/owners?limit&after
  &archived`, paged by `paging.next.after`; each owner "and if applicable, team information":
  `"teams": [{"id": "178588", "name": "West Coast Sales", "primary": true}, ...]`.
- Rate limit (https://developers.hubspot.com/docs/api/usage-details): 429 with
  `{"status": "error", "message": "You have reached your secondly limit.", "errorType":
  "RATE_LIMIT", "correlationId", "policyName": "SECONDLY", "requestId"}` and `Retry-After`.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import uvicorn
from hubspot.utils.signature import Signature
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from leadloop_cli.infra import free_port

from ..waiting import wait_for
from .hubspot_routes import error, now, routes

# Reverse of the HubSpot-defined association type ids the fake knows (others mirror their id).
REVERSE_TYPE = {204: 203, 203: 204, 3: 4, 4: 3, 194: 193, 193: 194, 200: 199, 199: 200, 198: 197}
AUTH_MESSAGE = (
    "Authentication credentials not found. This API supports OAuth 2.0 authentication and you "
    "can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview"
)


@dataclass(frozen=True)
class Recorded:
    """One request as the fake received it."""

    method: str
    path: str
    query: dict[str, list[str]]
    body: Any
    authorization: str | None


@dataclass
class FakeHubSpot:
    """The fake's state: seed it, inspect it, and turn its failure knobs."""

    url: str = ""
    token: str = "pat-na1-test-token"
    objects: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    associations: dict[tuple[str, str, str], dict[str, int]] = field(default_factory=dict)
    owners: list[dict[str, Any]] = field(default_factory=list)
    requests: list[Recorded] = field(default_factory=list)
    owners_page_size: int = 100
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1001))
    _rate_limited: list[tuple[str, str]] = field(default_factory=list)
    _failures: list[int] = field(default_factory=list)
    _holds: dict[tuple[str, str], asyncio.Event] = field(default_factory=dict)

    # --- knobs ----------------------------------------------------------------------------

    def rate_limit_next(
        self, times: int = 1, retry_after: str = "2", policy: str = "SECONDLY"
    ) -> None:
        """The next `times` calls get HubSpot's 429 with this Retry-After."""
        self._rate_limited += [(retry_after, policy)] * times

    def fail_next(self, times: int = 1, status: int = 502) -> None:
        """The next `times` calls get this server error."""
        self._failures += [status] * times

    def hold(self, method: str, path: str) -> asyncio.Event:
        """Requests of `method` to exactly `path` wait, recorded, until the returned gate is set
        (a slow HubSpot: the caller may die meanwhile, and the request is still carried out)."""
        return self._holds.setdefault((method, path), asyncio.Event())

    def expire_token(self) -> None:
        """The token stops being accepted (a revoked or rotated private app token)."""
        self.token = f"revoked-{uuid.uuid4()}"

    # --- seeding and inspection -----------------------------------------------------------

    def seed(
        self, object_type: str, properties: dict[str, Any], object_id: str | None = None
    ) -> str:
        """Store a record of `object_type` (`contacts`, `deals`, `calls`, ...); return its id."""
        oid = object_id or str(next(self._ids))
        stamp = now()
        props = {k: None if v is None else str(v) for k, v in properties.items()}
        props.update(hs_object_id=oid, createdate=stamp, lastmodifieddate=stamp)
        self.objects.setdefault(object_type, {})[oid] = {
            "id": oid,
            "properties": props,
            "createdAt": stamp,
            "updatedAt": stamp,
            "archived": False,
        }
        return oid

    def associate(
        self, from_type: str, from_id: str, to_type: str, to_id: str, type_id: int
    ) -> None:
        """Associate two records both ways (HubSpot-defined type id, and its reverse)."""
        self.associations.setdefault((from_type, from_id, to_type), {})[to_id] = type_id
        back = REVERSE_TYPE.get(type_id, type_id)
        self.associations.setdefault((to_type, to_id, from_type), {})[from_id] = back

    def add_owner(
        self,
        email: str,
        first: str,
        last: str,
        *,
        archived: bool = False,
        teams: tuple[str, ...] = (),
    ) -> str:
        """An owner (a HubSpot user) as the owners API lists it, in `teams` (the first one
        primary); returns its id."""
        oid = str(next(self._ids))
        team_list = [
            {"id": str(178_000 + sum(map(ord, name))), "name": name, "primary": i == 0}
            for i, name in enumerate(teams)
        ]
        self.owners.append(
            {
                "id": oid,
                "email": email,
                "type": "PERSON",
                "firstName": first,
                "lastName": last,
                "userId": int(oid) + 9_000_000,
                "userIdIncludingInactive": int(oid) + 9_000_000,
                "createdAt": now(),
                "updatedAt": now(),
                "archived": archived,
                **({"teams": team_list} if team_list else {}),
            }
        )
        return oid

    def records(self, object_type: str) -> list[dict[str, Any]]:
        """The stored records of a type."""
        return list(self.objects.get(object_type, {}).values())

    def calls_to(self, method: str, path_prefix: str) -> list[Recorded]:
        """The recorded requests of this method whose path starts so."""
        return [r for r in self.requests if r.method == method and r.path.startswith(path_prefix)]

    # --- the gate every request passes ----------------------------------------------------

    async def gate(self, request: Request) -> Response | None:
        """Record the request; wait while it is held; answer 401, an injected 429 or 5xx, or
        None to go on."""
        raw = await request.body()
        self.requests.append(
            Recorded(
                request.method,
                request.url.path,
                {k: request.query_params.getlist(k) for k in request.query_params},
                json.loads(raw) if raw else None,
                request.headers.get("authorization"),
            )
        )
        gate = self._holds.get((request.method, request.url.path))
        if gate is not None:
            await gate.wait()
        if request.headers.get("authorization") != f"Bearer {self.token}":
            return error(401, AUTH_MESSAGE, category="INVALID_AUTHENTICATION")
        if self._rate_limited:
            retry_after, policy = self._rate_limited.pop(0)
            body = {
                "status": "error",
                "message": f"You have reached your {policy.lower()} limit.",
                "errorType": "RATE_LIMIT",
                "correlationId": str(uuid.uuid4()),
                "policyName": policy,
                "requestId": str(uuid.uuid4()),
            }
            return JSONResponse(body, status_code=429, headers={"Retry-After": retry_after})
        if self._failures:
            return error(self._failures.pop(0), "Bad Gateway")
        return None


async def serve_hubspot(
    token: str = "pat-na1-test-token",
) -> tuple[FakeHubSpot, Callable[[], Awaitable[None]]]:
    """Start the fake on a free port in this event loop; returns it and its stop function."""
    port = free_port()
    fake = FakeHubSpot(url=f"http://127.0.0.1:{port}", token=token)
    app = Starlette(routes=[Route(path, endpoint(fake), methods=m) for path, endpoint, m in routes])
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())

    async def started() -> bool:
        if task.done():
            task.result()  # raises what stopped the server
        return server.started

    await wait_for(started, timeout_s=30, what="the fake HubSpot API to listen")

    async def stop() -> None:
        server.should_exit = True
        await task

    return fake, stop


# --- HubSpot calling us: signed Webhooks API event arrays and workflow webhooks ----------------

_event_ids = itertools.count(100_000)


def event(subscription_type: str, object_id: int | str, **fields: Any) -> dict[str, Any]:
    """One Webhooks API event as HubSpot documents it (https://developers.hubspot.com/docs/api/
    webhooks, "Webhook payloads"); `fields` adds propertyName, propertyValue, objectTypeId..."""
    return {
        "eventId": next(_event_ids),
        "subscriptionId": 234567,
        "portalId": 62515,
        "appId": 987654,
        "occurredAt": int(time.time() * 1000),
        "subscriptionType": subscription_type,
        "attemptNumber": 0,
        "objectId": int(object_id),
        "changeSource": "CRM_UI",
        **fields,
    }


def signed_headers(
    url: str, body: bytes, secret: str, *, now_ms: int | None = None
) -> dict[str, str]:
    """The headers HubSpot sends with a POST to `url`, signed by the HubSpot SDK's own helper
    (so the code under test is checked against HubSpot's, not against itself): the v3 signature
    and timestamp, and the older v1 signature the Webhooks API still sends alongside."""
    timestamp = str(now_ms if now_ms is not None else int(time.time() * 1000))
    text = body.decode()
    v3 = Signature.get_signature(
        secret, text, "v3", http_uri=url, http_method="POST", timestamp=timestamp
    )
    return {
        "Content-Type": "application/json",
        "X-HubSpot-Signature-v3": v3,
        "X-HubSpot-Request-Timestamp": timestamp,
        "X-HubSpot-Signature-Version": "v1",
        "X-HubSpot-Signature": Signature.get_signature(secret, text, "v1"),
        "User-Agent": "HubSpot Connect 2.0 (http://dev.hubspot.com/) - WebhooksExecutorDaemon",
    }


async def post_signed(
    url: str, payload: Any, secret: str, *, now_ms: int | None = None
) -> httpx.Response:
    """POST a Webhooks API event array (a list) or a workflow webhook (an object), signed."""
    body = json.dumps(payload).encode()
    async with httpx.AsyncClient(timeout=30) as client:
        return await client.post(
            url, content=body, headers=signed_headers(url, body, secret, now_ms=now_ms)
        )
