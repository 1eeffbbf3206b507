"""HubSpot's sales-side notifications onto feedback's CRM items. Pure: a notification and what
the CRM API answered about its object become a `Planned` item (recorded once its lead, and a
touch's rep, are resolved) or a `Skipped` one, with the reason in words.

- deal: a Deal, `won`/`lost` once HubSpot says it is closed (hs_is_closed_won decides), else
  `created`; amount (0 when empty), deal_currency_code else the configured currency; closed
  at the close date, else when the notification happened.
- call, meeting, email: a Touch of that channel by the engagement's owner (hubspot_owner_id),
  at the engagement's hs_timestamp (else the notification's time); a meeting is `connected`,
  a call or an email `attempted`.
- contact hs_lead_status: a StatusUpdate through `DEFAULT_LEAD_STATUS_MAP` (extended by
  LEADLOOP_HUBSPOT_STATUS_MAP); a value mapped to None, or not in the map, is skipped. NEW and
  OPEN are skipped on purpose: leadloop's own hand-off sets them on the contact, and their
  echo is not a sales decision. A rejection carries the reason code `REJECTION_REASONS` names
  (else `other`).
- contact lifecyclestage: `opportunity` is a StatusUpdate `opportunity`; the other stages are
  marketing's or leadloop's own (routing sets them), so they are skipped.
Each item's crm_event_id says which fact it is, so a notification delivered again, or several
notifications about one change (HubSpot sends one per property changed), record it once: a
touch is its engagement (`hubspot:call:<id>`), a deal its state (`hubspot:deal:<id>:<stage>:
<amount>:<currency>:<close date>`: a later change of amount or close date is a new fact, the
reports keep each deal's latest), a status change its notification's event key.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from leadloop_connectors.hubspot import Deal as HubSpotDeal
from leadloop_connectors.hubspot import Engagement
from leadloop_contract.values import REJECTIONS, CrmStatus, TouchChannel, TouchOutcome
from leadloop_events.intake import CrmNotificationReceived
from leadloop_feedback.domain.crm import Deal, Item, Kind, StatusUpdate, Touch

DEFAULT_LEAD_STATUS_MAP: Mapping[str, CrmStatus | None] = {
    "NEW": None,  # set by leadloop's hand-off (routing's HubSpot connector): not sales' word
    "OPEN": None,
    "IN_PROGRESS": "accepted",
    "ATTEMPTED_TO_CONTACT": "working",
    "CONNECTED": "working",
    "OPEN_DEAL": "opportunity",
    "UNQUALIFIED": "unqualified",
    "BAD_TIMING": "recycled",
}
"""HubSpot's default hs_lead_status options → leadloop's CRM status (None: not used)."""

REJECTION_REASONS: Mapping[str, str] = {"UNQUALIFIED": "bad_fit", "BAD_TIMING": "wrong_timing"}
"""The agreement reason code a lead status carries (HubSpot's statuses have no reason)."""

LIFECYCLE_MAP: Mapping[str, CrmStatus] = {"opportunity": "opportunity"}
"""lifecyclestage values that are sales' decisions; the others are skipped."""

CHANNELS: Mapping[str, TouchChannel] = {"call": "call", "meeting": "meeting", "email": "email"}
OUTCOMES: Mapping[str, TouchOutcome] = {"meeting": "connected"}
"""A touch's outcome by engagement type; `attempted` for the others."""


@dataclass(frozen=True)
class HubSpotMapping:
    """The user's choices: lead statuses over the defaults, the currency of deals without one."""

    statuses: Mapping[str, CrmStatus | None] = field(default_factory=dict)
    currency: str = "EUR"

    def status(self, value: str) -> CrmStatus | None:
        """The CRM status an hs_lead_status value means; None when not used or unknown."""
        return {**DEFAULT_LEAD_STATUS_MAP, **self.statuses}.get(value)


@dataclass(frozen=True)
class Planned:
    """A notification's item, waiting for its lead (by contact id) and a touch's rep."""

    kind: Kind
    object_type: str
    event_key: str
    crm_event_id: str
    contact_ids: tuple[str, ...]
    owner_id: str | None
    fields: dict[str, Any]

    def item(self, lead_id: str) -> Item:
        """The feedback item; the rep named by its HubSpot owner id (resolved when recorded)."""
        named: dict[str, Any] = {"crm_event_id": self.crm_event_id, "lead_id": lead_id}
        owner = {"crm_owner_id": {"system": "hubspot", "id": self.owner_id}}
        if self.kind == "touch":
            return Touch.model_validate({**named, **owner, **self.fields})
        if self.kind == "status":
            return StatusUpdate.model_validate({**named, **self.fields})
        return Deal.model_validate({**named, **self.fields})


@dataclass(frozen=True)
class Skipped:
    """A notification deliberately not recorded, and why."""

    object_type: str
    event_key: str
    code: str
    detail: str


def needs_read(notification: CrmNotificationReceived) -> str | None:
    """What the CRM API must be asked: `deal`, an engagement type, or None (a contact's
    property change carries its value)."""
    kind = notification.object_type
    return kind if kind == "deal" or kind in CHANNELS else None


def plan_deal(notification: CrmNotificationReceived, deal: HubSpotDeal, currency: str) -> Planned:
    """A deal created, won or lost."""
    stage = ("won" if deal.is_closed_won else "lost") if deal.is_closed else "created"
    amount = deal.amount if deal.amount is not None else Decimal(0)
    code = (deal.currency or currency).upper()
    closed_at = deal.close_date or notification.occurred_at
    fields = {
        "deal_id": f"hubspot:{deal.id}",
        "stage": stage,
        "amount": amount,
        "currency": code,
        "closed_at": closed_at,
    }
    fact = f"hubspot:deal:{deal.id}:{stage}:{amount}:{code}:{closed_at.isoformat()}"
    key = notification.event_key
    return Planned("deal", "deal", key, fact, deal.contact_ids, None, fields)


def plan_engagement(notification: CrmNotificationReceived, engagement: Engagement) -> Planned:
    """A logged call, meeting or email: a touch by its owner."""
    kind = notification.object_type
    fields = {
        "channel": CHANNELS[kind],
        "outcome": OUTCOMES.get(kind, "attempted"),
        "touched_at": engagement.occurred_at or notification.occurred_at,
    }
    key, contacts = notification.event_key, engagement.contact_ids
    fact = f"hubspot:{kind}:{engagement.id}"
    return Planned("touch", kind, key, fact, contacts, engagement.owner_id, fields)


def plan_contact(
    notification: CrmNotificationReceived, mapping: HubSpotMapping
) -> Planned | Skipped:
    """A lead status or lifecycle stage change: a status update, or skipped."""
    n, value = notification, notification.property_value or ""
    if n.property_name == "hs_lead_status":
        status = mapping.status(value)
    elif n.property_name == "lifecyclestage":
        status = LIFECYCLE_MAP.get(value)
    else:
        return Skipped(n.object_type, n.event_key, "skipped", f"{n.property_name} is not used")
    if status is None:
        detail = f"{n.property_name} {value!r} maps to no CRM status"
        return Skipped(n.object_type, n.event_key, "skipped", detail)
    fields: dict[str, Any] = {"status": status, "changed_at": n.occurred_at}
    if status in REJECTIONS or value in REJECTION_REASONS:
        fields["reason_code"] = REJECTION_REASONS.get(value, "other")
    return Planned("status", n.object_type, n.event_key, n.event_key, (n.object_id,), None, fields)


def plan(
    notification: CrmNotificationReceived,
    read: HubSpotDeal | Engagement | None,
    mapping: HubSpotMapping,
) -> Planned | Skipped:
    """The item a notification means, from what the CRM API answered (`read`)."""
    n = notification
    if n.object_type == "contact":
        return plan_contact(n, mapping)
    if read is None:
        return Skipped(
            n.object_type, n.event_key, "gone", f"HubSpot has no {n.object_type} {n.object_id}"
        )
    if isinstance(read, HubSpotDeal):
        return plan_deal(n, read, mapping.currency)
    if read.owner_id is None:
        return Skipped(n.object_type, n.event_key, "unknown_rep", "the engagement has no owner")
    return plan_engagement(n, read)
