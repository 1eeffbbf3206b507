"""Events published by feedback on `leads.feedback`: what sales did with the lead.

Feedback decides the sales side of the lifecycle: a status change or a closed deal that moves
the lead carries the move (`from_stage`, `to_stage`), and scoring applies it as decided.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import ClassVar

from pydantic import Field

from leadloop_contract.bounds import MAX_ITEMS, Note, Text
from leadloop_contract.values import CrmStatus, DealStage, Stage, TouchChannel, TouchOutcome
from leadloop_events import topics
from leadloop_events.envelope import EventData
from leadloop_events.money import CurrencyCode

FROM_STAGE = "the lead's stage when feedback decided the move; absent when nothing moves"
TO_STAGE = "the stage feedback decided the lead moves to; absent when nothing moves"


class LeadTouched(EventData):
    """A rep contacted the lead."""

    event_type: ClassVar[str] = "leadloop.lead.touched.v1"
    topic: ClassVar[str] = topics.FEEDBACK

    lead_id: Text
    crm_event_id: Text
    rep_id: Text
    channel: TouchChannel
    outcome: TouchOutcome
    touched_at: datetime


class LeadStatusChanged(EventData):
    """Sales changed the lead's status in the CRM."""

    event_type: ClassVar[str] = "leadloop.lead.status_changed.v1"
    topic: ClassVar[str] = topics.FEEDBACK

    lead_id: Text
    crm_event_id: Text
    status: CrmStatus
    reason_code: Text | None = None
    note: Note | None = None
    rep_id: Text | None = None
    changed_at: datetime
    from_stage: Stage | None = Field(default=None, description=FROM_STAGE)
    to_stage: Stage | None = Field(default=None, description=TO_STAGE)


class DealClosed(EventData):
    """An opportunity was created, won or lost."""

    event_type: ClassVar[str] = "leadloop.deal.closed.v1"
    topic: ClassVar[str] = topics.FEEDBACK

    lead_id: Text
    crm_event_id: Text
    deal_id: Text
    stage: DealStage
    amount: Decimal = Field(ge=0)
    currency: CurrencyCode = Field(description="ISO 4217")
    products: list[Text] = Field(default_factory=list, max_length=MAX_ITEMS)
    recurring: bool = False
    reason: Note | None = None
    closed_at: datetime
    from_stage: Stage | None = Field(default=None, description=FROM_STAGE)
    to_stage: Stage | None = Field(default=None, description=TO_STAGE)
