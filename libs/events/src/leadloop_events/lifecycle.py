"""Events published by scoring on `leads.lifecycle`."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from leadloop_events import topics
from leadloop_events.envelope import EventData
from leadloop_events.intake import ActivityType, LeadProfile

Stage = Literal[
    "lead", "mql", "sql", "accepted", "opportunity", "customer", "recycled", "disqualified"
]
Grade = Literal["A", "B", "C", "D"]


class ScoreLine(BaseModel):
    """One rule that added or removed points, in words anyone can read."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    rule: str
    kind: Literal["fit", "interest", "negative"]
    points: float
    reason: str


class TimelineEntry(BaseModel):
    """One activity in a lead's story (most recent first in a timeline)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    activity_type: ActivityType
    occurred_at: datetime
    url: str | None = None
    campaign: str | None = None


class LeadIntelligence(BaseModel):
    """Everything marketing knows that sales needs at hand-off."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    profile: LeadProfile
    fit: float
    interest: float
    grade: Grade
    breakdown: list[ScoreLine] = Field(default_factory=list)
    timeline: list[TimelineEntry] = Field(default_factory=list)
    sources: list[str] = Field(default_factory=list)
    campaigns: list[str] = Field(default_factory=list)
    first_seen_at: datetime | None = None


class LeadScored(EventData):
    """A lead's fit or interest score changed."""

    event_type: ClassVar[str] = "leadloop.lead.scored.v1"
    topic: ClassVar[str] = topics.LIFECYCLE

    lead_id: str
    fit: float
    interest: float
    total: float
    grade: Grade
    interest_band: str
    breakdown: list[ScoreLine]
    agreement_version: str
    scored_at: datetime


class LeadStageChanged(EventData):
    """A lead moved between lifecycle stages; an SQL carries the complete lead intelligence."""

    event_type: ClassVar[str] = "leadloop.lead.stage_changed.v1"
    topic: ClassVar[str] = topics.LIFECYCLE

    lead_id: str
    from_stage: Stage
    to_stage: Stage
    reason: str
    agreement_version: str
    changed_at: datetime
    first_source: str | None = None
    first_campaign: str | None = None
    intelligence: LeadIntelligence | None = None
