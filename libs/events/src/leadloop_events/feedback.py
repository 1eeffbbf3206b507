"""Events published by feedback on `leads.feedback`: what sales did with the lead."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import ClassVar, Literal

from pydantic import Field

from leadloop_events import topics
from leadloop_events.bounds import MAX_ITEMS, Note, Text
from leadloop_events.envelope import EventData
from leadloop_events.money import CurrencyCode


class LeadTouched(EventData):
    """A rep contacted the lead."""

    event_type: ClassVar[str] = "leadloop.lead.touched.v1"
    topic: ClassVar[str] = topics.FEEDBACK

    lead_id: Text
    crm_event_id: Text
    rep_id: Text
    channel: Literal["email", "call", "meeting", "social"]
    outcome: Literal["attempted", "connected", "meeting_booked"]
    touched_at: datetime


class LeadStatusChanged(EventData):
    """Sales changed the lead's status in the CRM."""

    event_type: ClassVar[str] = "leadloop.lead.status_changed.v1"
    topic: ClassVar[str] = topics.FEEDBACK

    lead_id: Text
    crm_event_id: Text
    status: Literal[
        "accepted", "working", "rejected", "unqualified", "recycled", "disqualified", "opportunity"
    ]
    reason_code: Text | None = None
    note: Note | None = None
    rep_id: Text | None = None
    changed_at: datetime


class DealClosed(EventData):
    """An opportunity was created, won or lost."""

    event_type: ClassVar[str] = "leadloop.deal.closed.v1"
    topic: ClassVar[str] = topics.FEEDBACK

    lead_id: Text
    crm_event_id: Text
    deal_id: Text
    stage: Literal["created", "won", "lost"]
    amount: Decimal = Field(ge=0)
    currency: CurrencyCode = Field(description="ISO 4217")
    products: list[Text] = Field(default_factory=list, max_length=MAX_ITEMS)
    recurring: bool = False
    reason: Note | None = None
    closed_at: datetime
