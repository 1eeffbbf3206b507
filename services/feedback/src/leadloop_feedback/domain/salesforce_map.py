"""Salesforce's Outbound Message notifications onto feedback's CRM items. Pure: each
notification becomes a `Planned` item (recorded once its lead, and a touch's rep, are
resolved) or a `Skipped` one, with the reason in words.

- Lead: its Status through the status map (`DEFAULT_STATUS_MAP`, extended by
  LEADLOOP_SALESFORCE_STATUS_MAP) becomes a StatusUpdate; a status mapped to None, or one the
  map does not know, is skipped. A rejection status carries its reason code from the field
  LEADLOOP_SALESFORCE_REASON_FIELD. An owner change alone is not used: the hand-off's owner
  is routing's decision, and feedback keeps no owner history outside the hand-offs.
- Task: once completed (Status "Completed" or IsClosed), a Touch of the channel its
  TaskSubtype, else its Type, names (`TASK_CHANNELS`); other tasks are not contacts.
- Opportunity: a Deal, won or lost once IsClosed (IsWon decides; StageName "Closed Won" or
  "Closed Lost" when the flags are not sent), else created.
Each item's crm_event_id is the notification Id, which Salesforce keeps across its retries; each
item's time is the record's LastModifiedDate (else SystemModstamp, else the receipt), so a
retried message says exactly what it said the first time.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from leadloop_connectors.salesforce import (
    LEAD_EXTERNAL_FIELD,
    LeadChange,
    Notification,
    OpportunityChange,
    TaskChange,
    change_of,
)
from leadloop_contract.values import REJECTIONS, CrmStatus, DealStage, TouchChannel
from leadloop_feedback.domain.crm import Deal, Item, Kind, StatusUpdate, Touch

DEFAULT_STATUS_MAP: Mapping[str, CrmStatus | None] = {
    "Open - Not Contacted": None,  # Salesforce's default for a new Lead: nobody acted yet
    "Working - Contacted": "working",
    "Closed - Converted": "opportunity",
    "Closed - Not Converted": "unqualified",
}
"""The standard Lead Status picklist → leadloop's CRM status (None: deliberately not used)."""

TASK_CHANNELS: Mapping[str, TouchChannel] = {
    "Call": "call",
    "Email": "email",
    "ListEmail": "email",
    "Meeting": "meeting",
    "LinkedIn": "social",
}
"""A Task's TaskSubtype (else Type) → the touch channel; tasks of other kinds are not touches."""

DEFAULT_REASON_FIELD = "Leadloop_Reason__c"


@dataclass(frozen=True)
class SalesforceMapping:
    """The user's choices: the status map (over the defaults), the field carrying a rejection's
    reason code, the currency of deals without CurrencyIsoCode, the leadloop id field."""

    statuses: Mapping[str, CrmStatus | None] = field(default_factory=dict)
    currency: str = "EUR"
    reason_field: str = DEFAULT_REASON_FIELD
    lead_field: str = LEAD_EXTERNAL_FIELD

    def status(self, value: str) -> tuple[bool, CrmStatus | None]:
        """Whether the map knows the Lead Status, and the CRM status it means."""
        merged = {**DEFAULT_STATUS_MAP, **self.statuses}
        return (value in merged, merged.get(value))


@dataclass(frozen=True)
class LeadRef:
    """How a notification names its lead: leadloop's id, Salesforce Lead/Contact ids, email."""

    leadloop_id: str | None = None
    salesforce_ids: tuple[str, ...] = ()
    email: str | None = None

    @property
    def empty(self) -> bool:
        """Whether nothing names the lead."""
        return not (self.leadloop_id or self.salesforce_ids or self.email)


@dataclass(frozen=True)
class Planned:
    """A notification's item, waiting for its lead (and a touch's rep) to be resolved."""

    kind: Kind
    sobject: str
    notification_id: str
    lead: LeadRef
    owner_id: str | None
    fields: dict[str, Any]

    def item(self, lead_id: str, rep_id: str | None) -> Item:
        """The feedback item; pydantic's ValidationError when a value is out of bounds."""
        named = {"crm_event_id": self.notification_id, "lead_id": lead_id, **self.fields}
        if self.kind == "touch":
            return Touch.model_validate({**named, "rep_id": rep_id})
        if self.kind == "status":
            return StatusUpdate.model_validate({**named, "rep_id": rep_id})
        return Deal.model_validate(named)


@dataclass(frozen=True)
class Skipped:
    """A notification deliberately not recorded, and why."""

    sobject: str
    notification_id: str
    code: str
    detail: str


def plan(
    notification: Notification, mapping: SalesforceMapping, received_at: datetime
) -> Planned | Skipped:
    """What a notification records, or why it records nothing."""
    record, nid = notification.sobject, notification.id
    try:
        change = change_of(record, lead_field=mapping.lead_field)
    except ValueError as exc:
        return Skipped(record.type, nid, "not_read", str(exc))
    at = _modified_at(record.fields, received_at)
    if isinstance(change, LeadChange):
        return _lead(nid, change, record.fields, mapping, at)
    if isinstance(change, TaskChange):
        return _task(nid, change, record.get("Type"), at)
    return _opportunity(nid, change, record.get("CurrencyIsoCode"), mapping, at)


def _lead(
    nid: str,
    change: LeadChange,
    fields: Mapping[str, str | None],
    mapping: SalesforceMapping,
    at: datetime,
) -> Planned | Skipped:
    if change.status is None:
        return Skipped("Lead", nid, "no_status", "no Status in the message (owner alone unused)")
    known, status = mapping.status(change.status)
    if not known:
        return Skipped("Lead", nid, "unmapped_status", f"Lead Status {change.status!r} not mapped")
    if status is None:
        return Skipped("Lead", nid, "status_not_used", f"Lead Status {change.status!r} unused")
    ids = tuple(i for i in (change.id, change.converted_contact_id) if i)
    reason = fields.get(mapping.reason_field) if status in REJECTIONS else None
    return Planned(
        "status",
        "Lead",
        nid,
        LeadRef(change.leadloop_id, ids, change.email),
        change.owner_id,
        {"status": status, "reason_code": reason, "changed_at": at},
    )


def _task(nid: str, change: TaskChange, task_type: str | None, at: datetime) -> Planned | Skipped:
    if not (change.is_closed or (change.status or "").lower() == "completed"):
        return Skipped("Task", nid, "task_open", f"Task {change.id} is not completed")
    kind = change.task_subtype if change.task_subtype in TASK_CHANNELS else task_type
    channel = TASK_CHANNELS.get(kind or "")
    if channel is None:
        return Skipped("Task", nid, "not_a_touch", f"Task of type {kind!r} is not a contact")
    if not change.who_id:
        return Skipped("Task", nid, "no_lead_reference", f"Task {change.id} has no WhoId")
    touched = _instant(change.completed_at) or at
    return Planned(
        "touch",
        "Task",
        nid,
        LeadRef(salesforce_ids=(change.who_id,)),
        change.owner_id,
        {
            "channel": channel,
            "outcome": "connected" if channel == "meeting" else "attempted",
            "touched_at": touched,
        },
    )


def _opportunity(
    nid: str,
    change: OpportunityChange,
    currency: str | None,
    mapping: SalesforceMapping,
    at: datetime,
) -> Planned | Skipped:
    ref = LeadRef(change.leadloop_id, tuple(i for i in (change.contact_id,) if i))
    if ref.empty:
        return Skipped(
            "Opportunity", nid, "no_lead_reference", f"Opportunity {change.id}: no lead named"
        )
    amount = (change.amount or Decimal(0)).quantize(Decimal("0.01"))
    return Planned(
        "deal",
        "Opportunity",
        nid,
        ref,
        change.owner_id,
        {
            "deal_id": change.id,
            "stage": deal_stage(change),
            "amount": amount,
            "currency": currency or mapping.currency,
            "closed_at": at,
        },
    )


def deal_stage(change: OpportunityChange) -> DealStage:
    """Won or lost once closed, else created; StageName decides when the flags are not sent."""
    stage = (change.stage or "").strip().lower()
    closed = change.is_closed if change.is_closed is not None else stage.startswith("closed")
    if not closed:
        return "created"
    won = change.is_won if change.is_won is not None else stage == "closed won"
    return "won" if won else "lost"


def _modified_at(fields: Mapping[str, str | None], received_at: datetime) -> datetime:
    for name in ("LastModifiedDate", "SystemModstamp"):
        at = _instant(fields.get(name))
        if at is not None:
            return at
    return received_at


def _instant(value: str | None) -> datetime | None:
    """A Salesforce dateTime (2026-11-04T10:02:00.000Z) in UTC; None when absent or unreadable."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
