"""A fake Salesforce org on a local port, following the published REST API and OAuth docs:

- Token: `POST /services/oauth2/token`, `grant_type=client_credentials` with the app's
  `client_id`/`client_secret` (form or HTTP Basic); answers `access_token`, `signature`,
  `scope`, `instance_url`, `id`, `token_type`, `issued_at`; wrong credentials are
  `400 {"error": "invalid_client", "error_description": "invalid client credentials"}`
  (help.salesforce.com, remoteaccess_oauth_client_credentials_flow.htm).
- Errors are `[{"message", "errorCode"}]` (api_rest errorcodes.htm): 401 INVALID_SESSION_ID for
  an expired token ("The session ID or OAuth token used has expired or is invalid"), 403
  REQUEST_LIMIT_EXCEEDED over the org's API limit, 400 REQUIRED_FIELD_MISSING / INVALID_FIELD /
  MALFORMED_QUERY, 404 NOT_FOUND.
- Upsert by external id (dome_upsert.htm): `PATCH .../sobjects/<SObject>/<Field>/<value>` →
  201 `{"id", "errors": [], "success": true, "created": true}`; an update → 200 with
  `"created": false` (API 46.0 and later), 204 No Content before.
- `PATCH .../sobjects/<SObject>/<id>` → 204; `GET .../query?q=` → `totalSize`, `done`,
  `records` (each with `attributes`) and `nextRecordsUrl` while not done (resources_query.htm).
  SOQL is the small subset leadloop sends: `SELECT f, ... FROM X [WHERE f = v [AND ...]]
  [LIMIT n]`.
Outbound Messages: `outbound_message()` builds the SOAP `notifications` envelope (WSDL in
sforce_api_om_outboundmessaging_wsdl.htm) that `post_outbound_message()` POSTs.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qs
from xml.sax.saxutils import escape, quoteattr

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from leadloop_cli.infra import free_port

from ..waiting import wait_for
from .salesforce_org import (
    EXTERNAL_IDS,
    INTEGRATION_USER_ID,
    ORG_ID,
    FakeSalesforce,
    Recorded,
    errors,
    run_query,
    with_checksum,
    write,
)

__all__ = [
    "ORG_ID",
    "FakeSalesforce",
    "outbound_message",
    "post_outbound_message",
    "serve_salesforce",
    "signature",
    "with_checksum",
]


def signature(secret: str, identity_url: str, issued_at: str) -> str:
    """HMAC-SHA256 of the identity URL and issued_at, keyed by the client secret, in Base64."""
    mac = hmac.new(secret.encode(), (identity_url + issued_at).encode(), hashlib.sha256)
    return base64.b64encode(mac.digest()).decode()


def token_endpoint(org: FakeSalesforce) -> Callable[[Request], Awaitable[Response]]:
    async def token(request: Request) -> Response:
        org.token_requests += 1
        form = {k: v[0] for k, v in parse_qs((await request.body()).decode()).items()}
        basic = request.headers.get("authorization", "")
        if basic.lower().startswith("basic "):
            client_id, _, secret = base64.b64decode(basic[6:]).decode().partition(":")
            form.setdefault("client_id", client_id)
            form.setdefault("client_secret", secret)
        if form.get("grant_type") != "client_credentials":
            return JSONResponse(
                {
                    "error": "unsupported_grant_type",
                    "error_description": "grant type not supported",
                },
                400,
            )
        if (form.get("client_id"), form.get("client_secret")) != (org.client_id, org.client_secret):
            return JSONResponse(
                {"error": "invalid_client", "error_description": "invalid client credentials"}, 400
            )
        access = f"{org.org_id[:15]}!AQ{len(org.tokens) + org.token_requests:08d}leadloop"
        org.tokens.add(access)
        identity = f"{org.base_url}/id/{org.org_id}/{INTEGRATION_USER_ID}"
        issued = str(int(time.time() * 1000))
        return JSONResponse(
            {
                "access_token": access,
                "signature": signature(org.signing_secret or org.client_secret, identity, issued),
                "scope": "api",
                "instance_url": org.base_url,
                "id": identity,
                "token_type": "Bearer",
                "issued_at": issued,
            }
        )

    return token


def api_endpoint(org: FakeSalesforce) -> Callable[[Request], Awaitable[Response]]:
    async def api(request: Request) -> Response:
        raw = await request.body()
        body = json.loads(raw) if raw else None
        org.requests.append(Recorded(request.method, request.url.path, request.url.query, body))
        if org.faults:
            return org.faults.pop(0)
        auth = request.headers.get("authorization", "")
        if not auth.startswith("Bearer ") or auth[7:] not in org.tokens:
            return errors(401, "INVALID_SESSION_ID", "Session expired or invalid")
        version, rest = request.path_params["version"], request.path_params["rest"].split("/")
        if rest[0] == "query":
            return run_query(org, request.query_params.get("q", ""), rest[1:], version)
        if rest[0] == "sobjects" and len(rest) in (3, 4) and rest[1] in EXTERNAL_IDS:
            return write(org, request.method, rest[1], rest[2:], body or {}, version)
        return errors(404, "NOT_FOUND", "The requested resource does not exist")

    return api


async def serve_salesforce() -> tuple[FakeSalesforce, Callable[[], Awaitable[None]]]:
    """Start a fake org on a free port in this event loop; returns it and its stop function."""
    port = free_port()
    org = FakeSalesforce(f"http://127.0.0.1:{port}")
    app = Starlette(
        routes=[
            Route("/services/oauth2/token", token_endpoint(org), methods=["POST"]),
            Route(
                "/services/data/{version}/{rest:path}",
                api_endpoint(org),
                methods=["GET", "PATCH", "POST"],
            ),
        ]
    )
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())

    async def started() -> bool:
        if task.done():
            task.result()
        return server.started

    await wait_for(started, timeout_s=30, what="the fake Salesforce to listen")

    async def stop() -> None:
        server.should_exit = True
        await task

    return org, stop


def _cell(name: str, value: Any) -> str:
    """One sObject field: nil when None, booleans as true/false, text escaped."""
    if value is None:
        return f'<sf:{name} xsi:nil="true"/>'
    text = str(value).lower() if isinstance(value, bool) else str(value)
    return f"<sf:{name}>{escape(text)}</sf:{name}>"


def outbound_message(
    records: list[tuple[str, dict[str, Any]]],
    *,
    org_id: str = ORG_ID,
    instance_url: str = "https://acme.my.salesforce.com",
) -> bytes:
    """The SOAP `notifications` a Flow's Outbound Message sends for these (type, fields)."""
    items = []
    for n, (sobject, fields) in enumerate(records, start=1):
        cells = "".join(_cell(name, value) for name, value in fields.items())
        items.append(
            f"<Notification><Id>{with_checksum(f'04l5e{n:010d}')}</Id>"
            f"<sObject xsi:type={quoteattr('sf:' + sobject)} "
            f'xmlns:sf="urn:sobject.enterprise.soap.sforce.com">{cells}</sObject>'
            "</Notification>"
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
        'xmlns:xsd="http://www.w3.org/2001/XMLSchema" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body>'
        '<notifications xmlns="http://soap.sforce.com/2005/09/outbound">'
        f"<OrganizationId>{org_id}</OrganizationId>"
        '<ActionId>04k5e000000CaRkAAK</ActionId><SessionId xsi:nil="true"/>'
        f"<EnterpriseUrl>{instance_url}/services/Soap/c/62.0/{org_id[:15]}</EnterpriseUrl>"
        f"<PartnerUrl>{instance_url}/services/Soap/u/62.0/{org_id[:15]}</PartnerUrl>"
        + "".join(items)
        + "</notifications></soapenv:Body></soapenv:Envelope>"
    ).encode()


async def post_outbound_message(url: str, body: bytes) -> httpx.Response:
    """POST an Outbound Message as Salesforce does (text/xml, UTF-8)."""
    async with httpx.AsyncClient(trust_env=False, timeout=30) as client:
        return await client.post(
            url, content=body, headers={"content-type": "text/xml; charset=utf-8"}
        )
