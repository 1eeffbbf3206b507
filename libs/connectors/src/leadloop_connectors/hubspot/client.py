"""A thin client of HubSpot's CRM v3/v4 REST API (private app token), through the outbound guard.

Why not the SDK (hubspot-api-client): it is synchronous (urllib3), generated per endpoint, and
retries on its own; leadloop needs a handful of calls, asyncio, and every call through the
outbound guard with typed errors for the durable deliveries. The SDK stays a test oracle.

Endpoints (https://developers.hubspot.com/docs/api/crm/): objects `GET|PATCH
/crm/v3/objects/{type}/{id}`, `POST /crm/v3/objects/{type}`, search `POST
/crm/v3/objects/{type}/search`, associations `GET /crm/v4/objects/{type}/{id}/associations/{to}`,
owners `GET /crm/v3/owners`. Errors: 401 (bad token), 403 (missing scope) → AuthFailed; 429
`{"status": "error", "message": "You have reached your secondly limit.", "errorType":
"RATE_LIMIT", ...}` → RateLimited; other 4xx → PermanentError; 5xx → TransientError.

Exactly one task per alert: tasks carry the alert id in a custom task property
(`leadloop_alert_id`, single-line text, which the setup guide has the user create). `ensure_task`
searches for it before creating. HubSpot's search index trails writes by a few seconds ("It may
take a few moments for newly created or updated CRM objects to appear in search results"), so a
retry fired within seconds of a crash between create and record could still find nothing: the
deliveries retry with a backoff longer than that lag.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from leadloop_connectors.http import ApiClient, PermanentError, static_token
from leadloop_platform.outbound import OutboundPolicy

from . import objects
from .objects import CrmObject, Deal, Engagement, Owner

DEFAULT_API_URL = "https://api.hubapi.com"
ALERT_ID_PROPERTY = "leadloop_alert_id"
# HubSpot-defined association type ids (https://developers.hubspot.com/docs/api/crm/associations,
# "Association type ID values"): task to contact.
TASK_TO_CONTACT = 204
CONTACT_PROPERTIES = (
    "email",
    "firstname",
    "lastname",
    "hubspot_owner_id",
    "hs_lead_status",
    "lifecyclestage",
)
PAGE_SIZE = 100
_EXISTING_ID = re.compile(r"Existing ID:\s*(\d+)")


class HubSpotClient:
    """The CRM calls leadloop makes; use inside `async with`. Raises ConnectorError subclasses."""

    def __init__(
        self,
        api_url: str = DEFAULT_API_URL,
        access_token: str = "",
        policy: OutboundPolicy | None = None,
        *,
        alert_id_property: str = ALERT_ID_PROPERTY,
    ) -> None:
        if not access_token:
            raise ValueError("a HubSpot private app access token is required")
        self.api = ApiClient(api_url, static_token(access_token), policy=policy)
        self.alert_id_property = alert_id_property

    async def __aenter__(self) -> HubSpotClient:
        await self.api.__aenter__()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.api.aclose()

    # --- contacts -------------------------------------------------------------------------

    async def get_contact(
        self, contact_id: str, properties: Iterable[str] = CONTACT_PROPERTIES
    ) -> CrmObject | None:
        """The contact with these properties, or None when HubSpot has no such contact."""
        return await self._get("contacts", contact_id, properties)

    async def find_contact_by_email(
        self, email: str, properties: Iterable[str] = CONTACT_PROPERTIES
    ) -> CrmObject | None:
        """The contact whose `email` is this one (search API), or None."""
        found = await self._search("contacts", "email", email, properties)
        return found[0] if found else None

    async def create_contact(self, properties: dict[str, Any]) -> CrmObject:
        """A new contact; PermanentError 409 when one has this email already."""
        reply = await self.api.call(
            "POST", "/crm/v3/objects/contacts", json_body={"properties": properties}
        )
        return objects.crm_object(reply.body)

    async def update_contact(self, contact_id: str, properties: dict[str, Any]) -> CrmObject:
        """Set properties (e.g. `hubspot_owner_id`, `hs_lead_status`, `lifecyclestage`)."""
        reply = await self.api.call(
            "PATCH",
            f"/crm/v3/objects/contacts/{_segment(contact_id)}",
            json_body={"properties": properties},
        )
        return objects.crm_object(reply.body)

    async def ensure_contact(self, email: str, properties: dict[str, Any]) -> str:
        """The id of the contact with this email, created with `properties` when absent."""
        found = await self.find_contact_by_email(email, ("email",))
        if found is not None:
            return found.id
        try:
            return (await self.create_contact({**properties, "email": email})).id
        except PermanentError as exc:
            # Created meanwhile (or not yet searchable): HubSpot's 409 names the existing id.
            match = _EXISTING_ID.search(str(exc))
            if exc.status == 409 and match:
                return match.group(1)
            raise

    # --- tasks ----------------------------------------------------------------------------

    async def find_task(self, alert_id: str) -> CrmObject | None:
        """The task carrying this alert id, or None."""
        found = await self._search(
            "tasks", self.alert_id_property, alert_id, ("hs_task_subject", "hubspot_owner_id")
        )
        return found[0] if found else None

    async def ensure_task(
        self,
        alert_id: str,
        owner_id: str,
        contact_id: str,
        subject: str,
        body: str,
        due_at: datetime,
    ) -> str:
        """The id of this alert's task, created for the owner on the contact when absent."""
        existing = await self.find_task(alert_id)
        if existing is not None:
            return existing.id
        task = {
            "properties": {
                "hs_timestamp": objects.hs_timestamp(due_at),
                "hs_task_subject": subject,
                "hs_task_body": body,
                "hubspot_owner_id": owner_id,
                "hs_task_status": "NOT_STARTED",
                "hs_task_type": "TODO",
                self.alert_id_property: alert_id,
            },
            "associations": [
                {
                    "to": {"id": contact_id},
                    "types": [
                        {
                            "associationCategory": "HUBSPOT_DEFINED",
                            "associationTypeId": TASK_TO_CONTACT,
                        }
                    ],
                }
            ],
        }
        reply = await self.api.call("POST", "/crm/v3/objects/tasks", json_body=task)
        return objects.crm_object(reply.body).id

    # --- deals and engagements ------------------------------------------------------------

    async def get_deal(self, deal_id: str) -> Deal | None:
        """The deal's stage, amount, close date, won/lost and contacts, or None."""
        found = await self._get("deals", deal_id, objects.DEAL_PROPERTIES)
        if found is None:
            return None
        return objects.deal(found, await self.associated_ids("deals", deal_id, "contacts"))

    async def get_engagement(self, object_type: str, engagement_id: str) -> Engagement | None:
        """A logged call, meeting or email (`calls`/`meetings`/`emails`) and its contacts."""
        plural = objects.engagement_type(object_type)
        wanted = ("hs_timestamp", "hubspot_owner_id", *objects.ENGAGEMENT_PROPERTIES[plural])
        found = await self._get(plural, engagement_id, wanted)
        if found is None:
            return None
        contacts = await self.associated_ids(plural, engagement_id, "contacts")
        return objects.engagement(plural, found, contacts)

    async def associated_ids(self, from_type: str, object_id: str, to_type: str) -> tuple[str, ...]:
        """Ids of the `to_type` records associated with the object (associations v4, paged)."""
        path = (
            f"/crm/v4/objects/{_segment(from_type)}/{_segment(object_id)}"
            f"/associations/{_segment(to_type)}"
        )
        ids: list[str] = []
        after: str | None = None
        while True:
            reply = await self.api.call("GET", path, params={"limit": 500, "after": after})
            ids += [str(r["toObjectId"]) for r in _results(reply.body)]
            after = _next_after(reply.body)
            if after is None:
                return tuple(dict.fromkeys(ids))

    # --- owners ---------------------------------------------------------------------------

    async def list_owners(self, *, include_archived: bool = True) -> list[Owner]:
        """Every owner, active ones first, then (by default) the archived ones."""
        owners = await self._owners(archived=False)
        if include_archived:
            owners += await self._owners(archived=True)
        return owners

    async def _owners(self, *, archived: bool) -> list[Owner]:
        out: list[Owner] = []
        after: str | None = None
        while True:
            params = {"limit": PAGE_SIZE, "after": after, "archived": str(archived).lower()}
            reply = await self.api.call("GET", "/crm/v3/owners", params=params)
            out += [objects.owner(r) for r in _results(reply.body)]
            after = _next_after(reply.body)
            if after is None:
                return out

    # --- shared ---------------------------------------------------------------------------

    async def _get(
        self, object_type: str, object_id: str, props: Iterable[str]
    ) -> CrmObject | None:
        path = f"/crm/v3/objects/{_segment(object_type)}/{_segment(object_id)}"
        try:
            reply = await self.api.call("GET", path, params={"properties": ",".join(props)})
        except PermanentError as exc:
            if exc.status == 404:
                return None
            raise
        return objects.crm_object(reply.body)

    async def _search(
        self, object_type: str, name: str, value: str, props: Iterable[str]
    ) -> list[CrmObject]:
        query = {
            "filterGroups": [
                {"filters": [{"propertyName": name, "operator": "EQ", "value": value}]}
            ],
            "properties": list(props),
            "limit": 10,
        }
        reply = await self.api.call(
            "POST", f"/crm/v3/objects/{_segment(object_type)}/search", json_body=query
        )
        return [objects.crm_object(r) for r in _results(reply.body)]


def _segment(value: str) -> str:
    """A path segment: ids are digits, names letters; anything else would change the path."""
    text = str(value)
    if not text or not re.fullmatch(r"[A-Za-z0-9_\-]+", text):
        raise ValueError(f"not a HubSpot id or object type: {text!r}")
    return text


def _results(body: Any) -> list[dict[str, Any]]:
    results = body.get("results") if isinstance(body, dict) else None
    if not isinstance(results, list):
        raise ValueError(f"HubSpot answered without a results list: {body!r:.200}")
    return [r for r in results if isinstance(r, dict)]


def _next_after(body: Any) -> str | None:
    """`paging.next.after`, present only when there is a next page."""
    after = ((body.get("paging") or {}).get("next") or {}).get("after")
    return str(after) if after not in (None, "") else None
