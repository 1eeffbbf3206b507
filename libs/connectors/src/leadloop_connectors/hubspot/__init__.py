"""HubSpot: the CRM client, the Webhooks API events and the v3 request signature."""

from .client import ALERT_ID_PROPERTY, DEFAULT_API_URL, TASK_TO_CONTACT, HubSpotClient
from .objects import CrmObject, Deal, Engagement, Owner, OwnerTeam
from .signature import SignatureInvalid, canonical_uri, signature_v3, signed_headers, verify_v3
from .webhooks import WebhookEvent, destination, is_event_array, parse_event, parse_events

__all__ = [
    "ALERT_ID_PROPERTY",
    "DEFAULT_API_URL",
    "TASK_TO_CONTACT",
    "CrmObject",
    "Deal",
    "Engagement",
    "HubSpotClient",
    "Owner",
    "OwnerTeam",
    "SignatureInvalid",
    "WebhookEvent",
    "canonical_uri",
    "destination",
    "is_event_array",
    "parse_event",
    "parse_events",
    "signature_v3",
    "signed_headers",
    "verify_v3",
]
