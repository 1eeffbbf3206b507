"""The Salesforce REST API calls leadloop makes: upsert a Lead and a Task by their external-id
fields (one record per lead, one Task per alert, however often a delivery is retried), change a
Lead's owner, run SOQL queries (following `nextRecordsUrl`) and read the org's users.

Documented behaviour relied on (https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/):
- dome_upsert.htm: `PATCH /services/data/vXX.X/sobjects/<SObject>/<ExtIdField>/<value>`
  creates the record when the value is not matched (201, `{"id", "errors", "success",
  "created": true}`) and updates it when matched once (200 with `"created": false` from API
  46.0; 204 with no body before).
- resources_query.htm: `GET /services/data/vXX.X/query?q=<SOQL>` answers `totalSize`, `done`,
  `records` and, while `done` is false, `nextRecordsUrl` for the next batch.
- errorcodes.htm: errors are `[{"message": ..., "errorCode": ...}]`; 401 is an expired or
  invalid session (INVALID_SESSION_ID); "403 ... If the error code is REQUEST_LIMIT_EXCEEDED,
  you've exceeded API request limits in your org". That 403 is a rate limit, not a refusal:
  this client raises RateLimited for it (its own classifier, so no token refresh is spent on
  it), with a long backoff since the org's API limit is a rolling 24-hour count.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from leadloop_connectors.http import (
    ApiClient,
    ApiReply,
    RateLimited,
    TransientError,
    classify,
)
from leadloop_connectors.salesforce.auth import ClientCredentials
from leadloop_platform.outbound import OutboundPolicy, Reply

DEFAULT_API_VERSION = "v62.0"
LEAD_EXTERNAL_FIELD = "Leadloop_Id__c"
TASK_EXTERNAL_FIELD = "Leadloop_Alert_Id__c"
LIMIT_EXCEEDED = "REQUEST_LIMIT_EXCEEDED"
LIMIT_BACKOFF_S = 300.0
# What Salesforce's own Web-to-Lead puts in a required Company it was not given.
NO_COMPANY = "[not provided]"
USERS_SOQL = "SELECT Id, Name, Email, IsActive FROM User WHERE UserType = 'Standard'"

_SOQL_ESCAPES = {
    "\\": "\\\\",
    "'": "\\'",
    '"': '\\"',
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\b": "\\b",
    "\f": "\\f",
}


@dataclass(frozen=True)
class SalesforceUser:
    """A user who can own leads: the CRM owner a rep is matched to."""

    id: str
    name: str
    email: str
    active: bool


def soql_quote(value: str) -> str:
    """A SOQL string literal of `value`, quoted and escaped (SOQL's escape sequences)."""
    return "'" + "".join(_SOQL_ESCAPES.get(c, c) for c in value) + "'"


def lead_body(fields: dict[str, Any]) -> dict[str, Any]:
    """The Lead fields to send: None values left out (absent data never clears the CRM's);
    LastName and Company, which Salesforce requires, filled when missing: LastName from the
    company, else the email's local part; Company as "[not provided]"."""
    body = {name: value for name, value in fields.items() if value is not None}
    company = str(body.get("Company") or "").strip()
    if not str(body.get("LastName") or "").strip():
        email = str(body.get("Email") or "")
        body["LastName"] = company or email.split("@")[0] or "Unknown"
    if not company:
        body["Company"] = NO_COMPANY
    return body


def classify_reply(reply: Reply) -> ApiReply:
    """Salesforce's conventions over the shared ones: a 403 REQUEST_LIMIT_EXCEEDED is the org's
    rolling 24-hour API limit, so a rate limit with a long backoff, not a refusal."""
    if reply.status_code == 403 and LIMIT_EXCEEDED.encode() in reply.body:
        raise RateLimited(LIMIT_BACKOFF_S, f"Salesforce {LIMIT_EXCEEDED}")
    return classify(reply)


class SalesforceClient:
    """A thin client of one org's REST API, authenticated by the client credentials flow."""

    def __init__(
        self,
        instance_url: str,
        client_id: str,
        client_secret: str,
        policy: OutboundPolicy | None = None,
        api_version: str = DEFAULT_API_VERSION,
    ) -> None:
        self.token = ClientCredentials(instance_url, client_id, client_secret, policy=policy)
        self.api = ApiClient(instance_url, self.token, policy=policy, classifier=classify_reply)
        self.data_path = f"/services/data/{api_version}"

    async def __aenter__(self) -> SalesforceClient:
        await self.api.__aenter__()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.api.aclose()

    async def _call(self, method: str, path: str, **kwargs: Any) -> ApiReply:
        return await self.api.call(method, path, **kwargs)

    def _sobject_path(self, sobject: str, *parts: str) -> str:
        tail = "".join("/" + quote(part, safe="") for part in parts)
        return f"{self.data_path}/sobjects/{sobject}{tail}"

    async def upsert(
        self, sobject: str, external_field: str, value: str, fields: dict[str, Any]
    ) -> tuple[str, bool]:
        """Create or update the record whose `external_field` is `value`: (its id, created)."""
        path = self._sobject_path(sobject, external_field, value)
        reply = await self._call("PATCH", path, json_body=fields)
        if reply.status == 204:  # an update answered as before API 46.0: ask for the id
            found = await self._call("GET", path, params={"fields": "Id"})
            return _record_id(found.body), False
        created = reply.status == 201 or bool(_body(reply.body).get("created"))
        return _record_id(reply.body), created

    async def upsert_lead(
        self, external_field: str, leadloop_id: str, fields: dict[str, Any]
    ) -> tuple[str, bool]:
        """The Lead carrying `leadloop_id` created or updated (see lead_body): (id, created)."""
        return await self.upsert("Lead", external_field, leadloop_id, lead_body(fields))

    async def upsert_task(self, external_field: str, alert_id: str, fields: dict[str, Any]) -> str:
        """The one Task of an alert (WhoId, OwnerId, Subject, Description, ActivityDate,
        Status, Priority): created the first time, updated on a retry. Returns its id."""
        body = {name: value for name, value in fields.items() if value is not None}
        record_id, _ = await self.upsert("Task", external_field, alert_id, body)
        return record_id

    async def update(self, sobject: str, record_id: str, fields: dict[str, Any]) -> None:
        """Change fields of one record by its id (204 No Content)."""
        await self._call("PATCH", self._sobject_path(sobject, record_id), json_body=fields)

    async def set_owner(self, lead_id: str, owner_id: str) -> None:
        """Give the Lead to `owner_id` (a User id)."""
        await self.update("Lead", lead_id, {"OwnerId": owner_id})

    async def query(self, soql: str) -> list[dict[str, Any]]:
        """Every record a SOQL query returns, batch after batch."""
        reply = await self._call("GET", f"{self.data_path}/query", params={"q": soql})
        page = _body(reply.body)
        records: list[dict[str, Any]] = list(page.get("records") or [])
        while not page.get("done", True) and page.get("nextRecordsUrl"):
            reply = await self._call("GET", str(page["nextRecordsUrl"]))
            page = _body(reply.body)
            records.extend(page.get("records") or [])
        return records

    async def find_lead_by_email(self, email: str) -> str | None:
        """The id of a Lead with this email (not yet converted), when there is one."""
        soql = (
            f"SELECT Id FROM Lead WHERE Email = {soql_quote(email)} AND IsConverted = false LIMIT 1"
        )
        records = await self.query(soql)
        return str(records[0]["Id"]) if records else None

    async def list_users(self) -> list[SalesforceUser]:
        """The org's standard users (the possible lead owners), active or not."""
        return [
            SalesforceUser(
                id=str(row["Id"]),
                name=str(row.get("Name") or ""),
                email=str(row.get("Email") or ""),
                active=bool(row.get("IsActive")),
            )
            for row in await self.query(USERS_SOQL)
        ]


def _body(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise TransientError("Salesforce answered without a JSON object")
    return body


def _record_id(body: Any) -> str:
    record_id = _body(body).get("id") or _body(body).get("Id")
    if not isinstance(record_id, str) or not record_id:
        raise TransientError("Salesforce answered without the record id")
    return record_id
