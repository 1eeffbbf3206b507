"""What the CRM tells feedback: touches, status updates and deals as typed items, and the
outcome of a batch (every item accepted, or the batch refused with each item's problem)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

from leadloop_contract.agreement import Agreement
from leadloop_contract.values import CrmStatus, DealStage, Stage, TouchChannel, TouchOutcome
from leadloop_events.instant import PastInstant
from leadloop_events.money import CurrencyCode
from leadloop_feedback.domain.identity import EmailAddress, ExternalRef, Ref

CrmId = Annotated[str, Field(min_length=1, max_length=200)]
LeadId = Annotated[str, Field(min_length=1, max_length=64)]
RepId = Annotated[str, Field(min_length=1, max_length=100)]
LEAD_FIELDS = ("lead_id", "email", "external_id")
REP_FIELDS = ("rep_id", "rep_email", "crm_owner_id")
REFERENCES = frozenset({"email", "external_id", "rep_email", "crm_owner_id"})
"""The ways of naming a lead or rep other than leadloop's ids: gone once resolved."""
ONE_LEAD = "the lead: exactly one of lead_id, email, external_id"
ONE_REP = "the rep: one of rep_id, rep_email, crm_owner_id (a touch needs one)"
Kind = Literal["touch", "status", "deal"]
"""The CRM's kinds of fact; a crm_event_id is unique per kind."""


def exactly_one(item: BaseModel, fields: tuple[str, ...], *, required: bool) -> None:
    """One of `fields` is given (or none, when not `required`); else a validation error at
    the field in excess, or at the first field when none is given."""
    given = [f for f in fields if getattr(item, f) is not None]
    if len(given) == 1 or (not given and not required):
        return
    at = given[1] if given else fields[0]
    how = "exactly" if required else "at most"
    message = f"give {how} one of {', '.join(fields)}" + (
        f" (got {', '.join(given)})" if given else ""
    )
    error = PydanticCustomError("one_of", message)
    raise ValidationError.from_exception_data(
        type(item).__name__, [InitErrorDetails(type=error, loc=(at,), input=None)]
    )


class Item(BaseModel):
    """One fact a CRM sends, named by the CRM's own event id, about one lead (named by
    leadloop's id, its email, or its id in a CRM; resolved to leadloop's id before it is
    decided)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    crm_event_id: CrmId
    lead_id: LeadId | None = Field(default=None, description=ONE_LEAD)
    email: EmailAddress | None = Field(
        default=None, description=f"{ONE_LEAD}; looked up by its hash, never kept"
    )
    external_id: ExternalRef | None = Field(default=None, description=ONE_LEAD)

    @model_validator(mode="after")
    def _one_lead(self) -> Self:
        exactly_one(self, LEAD_FIELDS, required=True)
        return self

    @property
    def lead(self) -> str:
        """leadloop's id of the lead, once resolved."""
        if self.lead_id is None:
            raise ValueError(f"item {self.crm_event_id} is not resolved to a lead id")
        return self.lead_id

    def lead_ref(self) -> Ref:
        """How the item names its lead."""
        if self.email is not None:
            return Ref.email(self.email, "email")
        if self.external_id is not None:
            return Ref.external(self.external_id, "external_id")
        return Ref.leadloop(self.lead, "lead_id")

    def rep_ref(self) -> Ref | None:
        """How the item names its rep (None: no rep)."""
        return None

    def facts(self, *, json: bool = False) -> dict[str, Any]:
        """The item as kept and published: naming the lead and rep by leadloop's ids only."""
        return self.model_dump(mode="json" if json else "python", exclude=set(REFERENCES))

    def resolved(self, lead_id: str, rep_id: str | None = None) -> Self:
        """The item naming the lead (and rep) by leadloop's ids only."""
        update: dict[str, Any] = {"lead_id": lead_id, "email": None, "external_id": None}
        if rep_id is not None and "rep_id" in type(self).model_fields:
            update |= {"rep_id": rep_id, "rep_email": None, "crm_owner_id": None}
        return self.model_copy(update=update)


class RepNamed(BaseModel):
    """A fact by a rep, named by leadloop's id, email, or CRM owner id."""

    rep_id: Annotated[str, Field(max_length=100)] | None = Field(default=None, description=ONE_REP)
    rep_email: EmailAddress | None = Field(
        default=None, description=f"{ONE_REP}; looked up by its hash, never kept"
    )
    crm_owner_id: ExternalRef | None = Field(
        default=None, description=f"{ONE_REP}: the rep's owner or user id in the CRM"
    )

    def rep_ref(self) -> Ref | None:
        """How the item names its rep (None: no rep)."""
        if self.rep_email is not None:
            return Ref.email(self.rep_email, "rep_email")
        if self.crm_owner_id is not None:
            return Ref.external(self.crm_owner_id, "crm_owner_id")
        return None if self.rep_id is None else Ref.leadloop(self.rep_id, "rep_id")


class Touch(RepNamed, Item):
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
                },
                {
                    "crm_event_id": "hs-evt-90212",
                    "email": "ana@acme-dental.com",
                    "rep_email": "alice@northwind.example",
                    "channel": "email",
                    "outcome": "attempted",
                    "touched_at": "2026-11-04T10:04:00Z",
                },
            ]
        },
    )

    rep_id: RepId | None = Field(default=None, description=ONE_REP)
    channel: TouchChannel
    outcome: TouchOutcome
    touched_at: PastInstant

    @model_validator(mode="after")
    def _one_rep(self) -> Self:
        exactly_one(self, REP_FIELDS, required=True)
        return self


class StatusUpdate(RepNamed, Item):
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
                },
                {
                    "crm_event_id": "sf-00T5e000001XyZ",
                    "external_id": {"system": "salesforce", "id": "00Q5e00000AbCdEAAZ"},
                    "status": "working",
                    "crm_owner_id": {"system": "salesforce", "id": "0055e000001AbCdAAK"},
                    "changed_at": "2026-11-04T10:06:00Z",
                },
            ]
        },
    )

    status: CrmStatus
    reason_code: Annotated[str, Field(max_length=100)] | None = None
    note: Annotated[str, Field(max_length=2000)] | None = None
    changed_at: PastInstant

    @model_validator(mode="after")
    def _at_most_one_rep(self) -> Self:
        exactly_one(self, REP_FIELDS, required=False)
        return self


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
                },
                {
                    "crm_event_id": "hs-evt-91878",
                    "external_id": {"system": "hubspot", "id": "5101"},
                    "deal_id": "hs-deal-7301",
                    "stage": "created",
                    "amount": "12000.00",
                    "currency": "EUR",
                    "closed_at": "2026-12-01T09:00:00Z",
                },
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


@dataclass(frozen=True)
class CrmContext:
    """What a CRM call is decided against, read in one round trip: the named live leads'
    stages, the hand-offs of the touched leads and of the touching reps, the newest agreement."""

    stages: dict[str, Stage]
    handoffs: Handoffs
    agreement: Agreement | None


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
