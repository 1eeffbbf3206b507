"""The closed-loop read model as typed entities: the projected lead and the facts folded into
it from all four topics (stage moves, hand-offs, touches, statuses, deals, agreements)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from leadloop_contract.agreement import Agreement
from leadloop_contract.values import Stage


@dataclass(frozen=True)
class ProjectedLead:
    """What the read model knows of one lead: where it came from, its scores and its stage."""

    lead_id: str
    stage: Stage = "lead"
    source: str | None = None
    campaign: str | None = None
    campaigns: tuple[str, ...] = ()
    first_seen_at: datetime | None = None
    fit: float | None = None
    interest: float | None = None
    grade: str | None = None
    interest_band: str | None = None
    erased: bool = False


@dataclass(frozen=True)
class Capture:
    """A lead seen by intake: the first source, campaign and time win."""

    lead_id: str
    source: str | None
    campaign: str | None
    first_seen_at: datetime
    company: str | None = None


@dataclass(frozen=True)
class Scores:
    """A lead's latest fit and interest."""

    fit: float
    interest: float
    grade: str
    interest_band: str


@dataclass(frozen=True)
class StageEntry:
    """A lifecycle move, by the event that announced it."""

    event_id: str
    lead_id: str
    from_stage: Stage
    to_stage: Stage
    reason: str | None
    at: datetime


@dataclass(frozen=True)
class Handoff:
    """A lead handed to sales: the assignment and its SLA deadline."""

    assignment_id: str
    lead_id: str
    team: str
    rep_id: str | None
    assigned_at: datetime
    sla_deadline: datetime | None


@dataclass(frozen=True)
class Reassignment:
    """An assignment moved to another rep (or the queue), with a new deadline."""

    assignment_id: str
    rep_id: str | None
    sla_deadline: datetime | None


@dataclass(frozen=True)
class TouchFact:
    """A rep's touch as published on leads.feedback."""

    crm_event_id: str
    lead_id: str
    rep_id: str
    channel: str
    outcome: str
    touched_at: datetime


@dataclass(frozen=True)
class StatusFact:
    """A CRM status as published on leads.feedback."""

    crm_event_id: str
    lead_id: str
    status: str
    reason_code: str | None
    changed_at: datetime


@dataclass(frozen=True)
class DealFact:
    """A deal as published on leads.feedback; `reason` is free text (kept only for live leads)."""

    crm_event_id: str
    deal_id: str
    lead_id: str
    stage: str
    amount: Decimal
    currency: str
    recurring: bool
    reason: str | None
    closed_at: datetime


@dataclass(frozen=True)
class PublishedAgreement:
    """An agreement version as scoring published it."""

    version: str
    agreement: Agreement
    published_at: datetime


@dataclass(frozen=True)
class JourneyLine:
    """One line of a lead's story in words."""

    event_id: str
    lead_id: str
    event_type: str
    at: datetime
    summary: str
