"""Events published by feedback on `leads.feedback`: what sales did with the lead."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import ClassVar, Literal

from pydantic import Field

from leadloop_events import topics
from leadloop_events.envelope import EventData


class LeadTouched(EventData):
    """A rep contacted the lead."""

    event_type: ClassVar[str] = "leadloop.lead.touched.v1"
    topic: ClassVar[str] = topics.FEEDBACK

    lead_id: str
    crm_event_id: str
    rep_id: str
    channel: Literal["email", "call", "meeting", "social"]
    outcome: Literal["attempted", "connected", "meeting_booked"]
    touched_at: datetime


class LeadStatusChanged(EventData):
    """Sales changed the lead's status in the CRM."""

    event_type: ClassVar[str] = "leadloop.lead.status_changed.v1"
    topic: ClassVar[str] = topics.FEEDBACK

    lead_id: str
    crm_event_id: str
    status: Literal[
        "accepted", "working", "rejected", "unqualified", "recycled", "disqualified", "opportunity"
    ]
    reason_code: str | None = None
    note: str | None = None
    rep_id: str | None = None
    changed_at: datetime


class DealClosed(EventData):
    """An opportunity was created, won or lost."""

    event_type: ClassVar[str] = "leadloop.deal.closed.v1"
    topic: ClassVar[str] = topics.FEEDBACK

    lead_id: str
    crm_event_id: str
    deal_id: str
    stage: Literal["created", "won", "lost"]
    amount: Decimal = Field(ge=0)
    currency: str = Field(pattern=r"^[A-Z]{3}$", description="ISO 4217")
    products: list[str] = Field(default_factory=list)
    recurring: bool = False
    reason: str | None = None
    closed_at: datetime
