"""The Webhooks API's event arrays, parsed into typed events; which service each event is for.

HubSpot POSTs a JSON array of up to 100 events to the app's one target URL
(https://developers.hubspot.com/docs/api/webhooks, "Webhook payloads"). Every event carries
`objectId`, `eventId`, `subscriptionId`, `portalId`, `appId`, `occurredAt` (epoch ms),
`subscriptionType` (`contact.creation`, `contact.propertyChange`, `contact.privacyDeletion`,
`deal.creation`, `deal.propertyChange`, ...), `attemptNumber` (from 0) and `changeSource`;
property changes add `propertyName` and `propertyValue`. Generic subscriptions
(https://developers.hubspot.com/docs/apps/legacy-apps/public-apps/create-generic-webhook-subscriptions)
use `object.creation`, `object.propertyChange`, ... with the object in `objectTypeId`
(`0-48` calls, `0-47` meetings, `0-49` emails).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

MAX_EVENTS = 100
# HubSpot's object type ids (https://developers.hubspot.com/docs/guides/api/crm/understanding-the-crm,
# "Object type IDs").
OBJECT_TYPE_IDS = {
    "0-1": "contact",
    "0-2": "company",
    "0-3": "deal",
    "0-5": "ticket",
    "0-27": "task",
    "0-46": "note",
    "0-47": "meeting",
    "0-48": "call",
    "0-49": "email",
}
# Contact properties that sales changes: their changes are sales feedback, not marketing data.
SALES_PROPERTIES = frozenset({"hs_lead_status", "lifecyclestage", "hubspot_owner_id"})
ENGAGEMENTS = frozenset({"call", "meeting", "email"})

Destination = Literal["intake", "feedback", "ignored"]


@dataclass(frozen=True)
class WebhookEvent:
    """One event of a Webhooks API request."""

    event_id: int
    subscription_type: str
    object_type: str
    action: str
    object_id: str
    portal_id: int
    occurred_at: datetime
    attempt_number: int = 0
    subscription_id: int | None = None
    app_id: int | None = None
    property_name: str | None = None
    property_value: str | None = None
    change_source: str | None = None

    @property
    def key(self) -> str:
        """A stable identity for deduplication (HubSpot redelivers; eventId alone may repeat)."""
        return f"{self.portal_id}:{self.subscription_type}:{self.object_id}:{self.event_id}"


def _optional_int(event: dict[str, Any], name: str) -> int | None:
    value = event.get(name)
    if value is None:
        return None
    if isinstance(value, str) and value.isdigit():
        return int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"event field {name!r} must be an integer, got {value!r}")
    return value


def _int(event: dict[str, Any], name: str) -> int:
    value = _optional_int(event, name)
    if value is None:
        raise ValueError(f"event field {name!r} is missing")
    return value


def _text(event: dict[str, Any], name: str) -> str | None:
    value = event.get(name)
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    raise ValueError(f"event field {name!r} must be a string, got {type(value).__name__}")


def _kind(event: dict[str, Any]) -> tuple[str, str]:
    subscription = event.get("subscriptionType")
    if not isinstance(subscription, str) or subscription.count(".") != 1:
        raise ValueError(f"subscriptionType must be like contact.creation: {subscription!r}")
    prefix, action = subscription.split(".")
    if prefix != "object":
        return prefix, action
    type_id = event.get("objectTypeId")
    if not isinstance(type_id, str) or not type_id:
        raise ValueError(f"{subscription} events carry an objectTypeId")
    return OBJECT_TYPE_IDS.get(type_id, type_id), action


def parse_event(event: Any) -> WebhookEvent:
    """One event of the array; ValueError when it is not of the documented shape."""
    if not isinstance(event, dict):
        raise ValueError(f"each event must be a JSON object, got {type(event).__name__}")
    object_type, action = _kind(event)
    return WebhookEvent(
        event_id=_int(event, "eventId"),
        subscription_type=event["subscriptionType"],
        object_type=object_type,
        action=action,
        object_id=str(_int(event, "objectId")),
        portal_id=_int(event, "portalId"),
        occurred_at=datetime.fromtimestamp(_int(event, "occurredAt") / 1000, tz=UTC),
        attempt_number=_optional_int(event, "attemptNumber") or 0,
        subscription_id=_optional_int(event, "subscriptionId"),
        app_id=_optional_int(event, "appId"),
        property_name=_text(event, "propertyName"),
        property_value=_text(event, "propertyValue"),
        change_source=_text(event, "changeSource"),
    )


def parse_events(body: bytes | str | list[Any]) -> list[WebhookEvent]:
    """The events of a Webhooks API request body; ValueError names what is wrong."""
    payload: Any = body
    if isinstance(body, bytes | str):
        try:
            payload = json.loads(body)
        except ValueError as exc:
            raise ValueError(f"the body is not JSON: {exc}") from exc
    if not isinstance(payload, list):
        raise ValueError("a Webhooks API request is a JSON array of events")
    if len(payload) > MAX_EVENTS:
        raise ValueError(f"{len(payload)} events; HubSpot sends at most {MAX_EVENTS} a request")
    out = []
    for index, event in enumerate(payload):
        try:
            out.append(parse_event(event))
        except ValueError as exc:
            raise ValueError(f"event {index}: {exc}") from exc
    return out


def is_event_array(body: bytes) -> bool:
    """True for a Webhooks API request (an array), False for a workflow webhook (an object)."""
    return body.lstrip()[:1] == b"["


def destination(event: WebhookEvent) -> Destination:
    """Which service takes the event: marketing data and erasure go to intake, sales' changes
    (deals, logged calls/meetings/emails, lead status, lifecycle, owner) to feedback."""
    if event.object_type == "contact":
        if event.action == "propertyChange" and event.property_name in SALES_PROPERTIES:
            return "feedback"
        if event.action in ("creation", "propertyChange", "privacyDeletion"):
            return "intake"
        return "ignored"
    if event.object_type == "deal" and event.action in ("creation", "propertyChange"):
        return "feedback"
    if event.object_type in ENGAGEMENTS and event.action in ("creation", "propertyChange"):
        return "feedback"
    return "ignored"
