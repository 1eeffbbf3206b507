"""What the CRM tells feedback: touches, status updates and deals as typed items, and the
outcome of a batch (every item accepted, or the batch refused with each item's problem)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from leadloop_contract.values import CrmStatus, DealStage, TouchChannel, TouchOutcome
from leadloop_events.instant import PastInstant
from leadloop_events.money import CurrencyCode

CrmId = Annotated[str, Field(min_length=1, max_length=200)]
LeadId = Annotated[str, Field(min_length=1, max_length=64)]
Kind = Literal["touch", "status", "deal"]
"""The CRM's kinds of fact; a crm_event_id is unique per kind."""


class Item(BaseModel):
    """One fact a CRM sends, named by the CRM's own event id."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    crm_event_id: CrmId
    lead_id: LeadId


class Touch(Item):
    """A rep contacted the lead."""

    model_config = ConfigDict(  # merged with Item's
        json_schema_extra={
            "examples": [
                {
                    "crm_event_id": "hs-evt-90211",
                    "lead_id": "3f2b8c1e-5d4a-4e7b-9c6f-0a1b2c3d4e5f",
                    "rep_id": "rep-alice",
                    "channel": "call",
                    "outcome": "connected",
                    "touched_at": "2026-11-04T10:02:00Z",
                }
            ]
        },
    )

    rep_id: Annotated[str, Field(min_length=1, max_length=100)]
    channel: TouchChannel
    outcome: TouchOutcome
    touched_at: PastInstant


class StatusUpdate(Item):
    """Sales set the lead's status in the CRM."""

    model_config = ConfigDict(  # merged with Item's
        json_schema_extra={
            "examples": [
                {
                    "crm_event_id": "hs-evt-90342",
                    "lead_id": "3f2b8c1e-5d4a-4e7b-9c6f-0a1b2c3d4e5f",
                    "status": "accepted",
                    "rep_id": "rep-alice",
                    "changed_at": "2026-11-04T10:05:00Z",
                }
            ]
        },
    )

    status: CrmStatus
    reason_code: Annotated[str, Field(max_length=100)] | None = None
    note: Annotated[str, Field(max_length=2000)] | None = None
    rep_id: Annotated[str, Field(max_length=100)] | None = None
    changed_at: PastInstant


class Deal(Item):
    """An opportunity created, won or lost."""

    model_config = ConfigDict(  # merged with Item's
        json_schema_extra={
            "examples": [
                {
                    "crm_event_id": "hs-evt-91877",
                    "lead_id": "3f2b8c1e-5d4a-4e7b-9c6f-0a1b2c3d4e5f",
                    "deal_id": "deal-acme-dental-2026",
                    "stage": "won",
                    "amount": "24000.00",
                    "currency": "EUR",
                    "products": ["Northwind Ops Pro"],
                    "recurring": True,
                    "closed_at": "2026-12-15T16:30:00Z",
                }
            ]
        },
    )

    deal_id: CrmId
    stage: DealStage
    amount: Decimal = Field(ge=0, max_digits=16, decimal_places=2)
    currency: CurrencyCode
    products: list[Annotated[str, Field(max_length=200)]] = []
    recurring: bool = False
    reason: Annotated[str, Field(max_length=2000)] | None = None
    closed_at: PastInstant


@dataclass(frozen=True)
class Earlier:
    """A CRM call received before under the same kind and crm_event_id."""

    event_id: str
    body: dict[str, Any]


@dataclass(frozen=True)
class Handoffs:
    """What leads.handoff told feedback: the leads handed to sales and the reps it named."""

    leads: set[str]
    reps: set[str]


@dataclass
class Outcome:
    """Per item: its crm_event_id, the event id published for it, and whether it repeats."""

    accepted: list[dict[str, Any]] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)

    @property
    def fresh(self) -> bool:
        """Whether any item is new (202) rather than a repeat of an earlier call (200)."""
        return any(not a["duplicate"] for a in self.accepted)


UNKNOWN = ("unknown_lead", "not_assigned", "unknown_rep")
"""Codes of items naming what the loop does not know (422); the others conflict (409)."""


class CrmRefused(ValueError):
    """Items refused, nothing written: 422 when any item names what the loop does not know (an
    unknown or erased lead, a touch before any hand-off or by a rep no hand-off named), else 409
    (an illegal lifecycle move, a rejection without an agreed reason code, a crm_event_id
    reused with another body)."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__(f"{len(errors)} item(s) refused")
        self.errors = errors
        self.status = 422 if any(e["code"] in UNKNOWN for e in errors) else 409

    @property
    def kind(self) -> str:
        """The problem type: the first error's code of the status answered."""
        first: str = next(
            e["code"] for e in self.errors if (e["code"] in UNKNOWN) == (self.status == 422)
        )
        return {"reason_code": "impossible_transition"}.get(first, first).replace("_", "-")


@dataclass(frozen=True)
class Campaign:
    """A campaign's cost, for cost per lead, MQL, customer and ROI."""

    campaign_id: str
    name: str
    spend: Decimal
    currency: str
    updated_at: datetime


@dataclass(frozen=True)
class RecordTouches:
    """Contact touches from the CRM, accepted or refused together."""

    items: Sequence[Touch]
    received_at: datetime = field(default_factory=lambda: datetime.now(UTC))


@dataclass(frozen=True)
class RecordStatusUpdates:
    """Lead statuses from the CRM, accepted or refused together."""

    items: Sequence[StatusUpdate]
    received_at: datetime = field(default_factory=lambda: datetime.now(UTC))


@dataclass(frozen=True)
class RecordDeals:
    """Deals from the CRM, accepted or refused together."""

    items: Sequence[Deal]
    received_at: datetime = field(default_factory=lambda: datetime.now(UTC))


@dataclass(frozen=True)
class SetCampaignSpend:
    """A campaign's cost (replaces the one known)."""

    campaign: Campaign
