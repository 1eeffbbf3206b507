"""HubSpot's Webhooks API at the app's one target URL: POST /v1/integrations/hubspot/events.

HubSpot POSTs v3-signed JSON arrays of up to 100 events to the single target URL of an app
(https://developers.hubspot.com/docs/api/webhooks). Intake verifies the signature (the same
LEADLOOP_HUBSPOT_CLIENT_SECRET as its workflow webhook), then per event, by
`leadloop_connectors.hubspot.destination`:
- contact.creation and contact.propertyChange of a mapped property: the contact is read with
  the private app token (the event carries ids only) and captured as a `hubspot` submission,
  mapped as the workflow webhook maps it, so the lead carries `external_ids.hubspot`;
- contact.privacyDeletion: the lead known by that contact id is erased;
- deals, logged calls/meetings/emails, contact lead status/lifecycle/owner changes: relayed as
  `leadloop.crm.notification_received.v1` on leads.intake, which feedback records;
- anything else: acknowledged and ignored.

Retries: HubSpot re-sends a failed request up to 10 times with exponential backoff ("Connection
failed", "Timeout", or "an HTTP status code that is not one of: 400, 401, 403, 404, 405";
https://developers.hubspot.com/docs/methods/webhooks/webhooks-overview, "Retries"). So a
HubSpot API that is down while a contact is read is answered 503 (HubSpot retries the batch),
a malformed body 400 (it never becomes valid). Every event is done once by its key
(crm_events), so the retried batch does nothing twice.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from leadloop_connectors.http import ConnectorError, RateLimited
from leadloop_connectors.hubspot import HubSpotClient, WebhookEvent, destination, parse_events
from leadloop_events.intake import CrmNotificationReceived
from leadloop_intake import crm_events
from leadloop_intake.config import Settings
from leadloop_intake.domain.commands import CaptureLead
from leadloop_intake.domain.errors import NotConfigured
from leadloop_intake.domain.hubspot_contact import to_form_submission
from leadloop_intake.domain.model import FormSubmission
from leadloop_intake.entrypoints.edge import hubspot_signed_body, settings_of, transactions_of
from leadloop_platform.http.problems import Problem
from leadloop_platform.logs import correlation_id

log = logging.getLogger(__name__)
router = APIRouter(prefix="/v1/integrations/hubspot", tags=["integrations"])
# The contact properties the mapping reads (hubspot_contact); a change of another one is no news.
MAPPED = (
    "email",
    "firstname",
    "lastname",
    "company",
    "jobtitle",
    "phone",
    "country",
    "industry",
    "numemployees",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "utm_term",
    "utm_content",
    "hs_analytics_source",
    "hs_analytics_source_data_1",
    "hs_analytics_source_data_2",
)


class EventsReceived(BaseModel):
    """What intake did with a notification request's events, counted by outcome."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"received": 3, "outcomes": {"captured": 1, "relayed": 2}}]}
    )

    received: int
    outcomes: dict[str, int] = Field(
        description="captured, erased, relayed (for feedback), ignored, skipped (no such "
        "contact, or one without an email), folded (the contact captured once per request), "
        "unknown (an erasure of no known lead), replayed (done when HubSpot sent it before)"
    )


def _wanted(event: WebhookEvent) -> bool:
    """A contact event intake reads the contact for."""
    if event.object_type != "contact" or destination(event) != "intake":
        return False
    return event.action == "creation" or event.property_name in MAPPED


async def _contacts(settings: Settings, ids: Sequence[str]) -> dict[str, dict[str, Any] | None]:
    """Each contact's mapped properties (None: HubSpot has no such contact), read with no
    transaction open; a HubSpot that cannot answer now is a 503, so HubSpot sends again."""
    if not ids:
        return {}
    if settings.hubspot_access_token is None:
        raise NotConfigured(
            "LEADLOOP_HUBSPOT_ACCESS_TOKEN is not set: intake cannot read the contacts "
            "HubSpot's events name"
        )
    token = settings.hubspot_access_token.get_secret_value()
    found: dict[str, dict[str, Any] | None] = {}
    try:
        async with HubSpotClient(settings.hubspot_api_url, token) as client:
            for contact_id in ids:
                contact = await client.get_contact(contact_id, MAPPED)
                found[contact_id] = None if contact is None else dict(contact.properties)
    except ConnectorError as exc:
        wait = exc.retry_after_s if isinstance(exc, RateLimited) else None
        retry = {"Retry-After": str(int(wait) + 1)} if wait is not None else None
        detail = f"HubSpot's API could not be read: {exc}"
        raise Problem(503, detail, kind="hubspot-unavailable", headers=retry) from exc
    return found


def _capture(
    event: WebhookEvent, contact: dict[str, Any] | None, settings: Settings, cid: str | None
) -> crm_events.CrmEvent:
    """The contact as a `hubspot` submission, or why it is skipped."""
    if contact is None:
        return crm_events.PassOver(event.key, "skipped", "HubSpot has no such contact")
    payload = {"objectId": event.object_id, "properties": contact}
    try:
        form = FormSubmission.model_validate(
            to_form_submission(payload, settings.hubspot_industry_map)
        )
    except ValidationError as exc:
        fields = ", ".join(".".join(map(str, e["loc"])) for e in exc.errors())
        log.info("HubSpot contact %s skipped: %s", event.object_id, fields)
        return crm_events.PassOver(event.key, "skipped", f"invalid contact: {fields}")
    raw = json.dumps(payload, separators=(",", ":"))
    return crm_events.CaptureContact(
        event.key, CaptureLead(form, "hubspot", raw, correlation_id=cid)
    )


def _notification(event: WebhookEvent) -> CrmNotificationReceived:
    return CrmNotificationReceived(
        system="hubspot",
        subscription_type=event.subscription_type,
        object_type=event.object_type,
        object_id=event.object_id,
        property_name=event.property_name,
        property_value=event.property_value,
        occurred_at=event.occurred_at,
        event_key=event.key,
    )


def translate(
    events: Sequence[WebhookEvent],
    contacts: dict[str, dict[str, Any] | None],
    settings: Settings,
    cid: str | None,
) -> list[crm_events.CrmEvent]:
    """Each event as what intake does with it; a contact is captured once per request."""
    out: list[crm_events.CrmEvent] = []
    captured: set[str] = set()
    for event in events:
        where = destination(event)
        if where == "feedback":
            out.append(crm_events.RelayToFeedback(event.key, _notification(event)))
        elif where == "intake" and event.action == "privacyDeletion":
            out.append(crm_events.EraseContact(event.key, "hubspot", event.object_id))
        elif _wanted(event) and event.object_id not in captured:
            captured.add(event.object_id)
            out.append(_capture(event, contacts.get(event.object_id), settings, cid))
        elif _wanted(event):
            out.append(crm_events.PassOver(event.key, "folded", "captured once per request"))
        else:
            out.append(crm_events.PassOver(event.key, "ignored", event.subscription_type))
    return out


@router.post(
    "/events",
    response_model=EventsReceived,
    responses={
        400: {"description": "not a Webhooks API event array"},
        401: {"description": "missing, stale or forged X-HubSpot-Signature-v3"},
        503: {"description": "a setting is missing, or HubSpot's API cannot be read now"},
    },
    summary="HubSpot Webhooks API events: the app's one target URL (signature v3)",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {"type": "array", "items": {"type": "object"}, "maxItems": 100},
                    "example": [
                        {
                            "eventId": 100001,
                            "subscriptionId": 234567,
                            "portalId": 62515,
                            "appId": 987654,
                            "occurredAt": 1764489600000,
                            "subscriptionType": "deal.propertyChange",
                            "attemptNumber": 0,
                            "objectId": 7001,
                            "propertyName": "dealstage",
                            "propertyValue": "closedwon",
                            "changeSource": "CRM_UI",
                        }
                    ],
                }
            },
        }
    },
)
async def receive_hubspot_events(request: Request) -> EventsReceived:
    """Verify, read the contacts the events name, then capture, erase or relay each event."""
    settings = settings_of(request)
    raw = await hubspot_signed_body(request)
    try:
        events = parse_events(raw)
    except ValueError as exc:
        raise Problem(400, str(exc), kind="malformed-events") from exc
    wanted = list(dict.fromkeys(e.object_id for e in events if _wanted(e)))
    contacts = await _contacts(settings, wanted)
    cid = correlation_id.get()
    command = crm_events.ReceiveCrmEvents(
        translate(events, contacts, settings, cid),
        ttl=timedelta(hours=settings.idempotency_ttl_hours),
        correlation_id=cid,
    )
    counts = await transactions_of(request).run(crm_events.receive_crm_events, command)
    return EventsReceived(received=len(events), outcomes=dict(counts))
