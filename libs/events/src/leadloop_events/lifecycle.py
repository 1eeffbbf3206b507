"""Events published by scoring on `leads.lifecycle`."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from leadloop_contract.bounds import MAX_ITEMS, Note, Text, Url
from leadloop_contract.profile import LeadProfile
from leadloop_contract.values import ActivityType, ExternalIds, Grade, Stage
from leadloop_events import topics
from leadloop_events.envelope import EventData

__all__ = [
    "Grade",
    "LeadIntelligence",
    "LeadScored",
    "LeadStageChanged",
    "ScoreLine",
    "Stage",
    "TimelineEntry",
]


class ScoreLine(BaseModel):
    """One rule that added or removed points, in words anyone can read."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    rule: Text
    kind: Literal["fit", "interest", "negative"]
    points: float
    reason: Note


class TimelineEntry(BaseModel):
    """One activity in a lead's story (most recent first in a timeline)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    activity_type: ActivityType
    occurred_at: datetime
    url: Url | None = None
    campaign: Text | None = None


class LeadIntelligence(BaseModel):
    """Everything marketing knows that sales needs at hand-off."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    profile: LeadProfile
    fit: float
    interest: float
    grade: Grade
    breakdown: list[ScoreLine] = Field(default_factory=list, max_length=MAX_ITEMS)
    timeline: list[TimelineEntry] = Field(default_factory=list, max_length=MAX_ITEMS)
    sources: list[Text] = Field(default_factory=list, max_length=MAX_ITEMS)
    campaigns: list[Text] = Field(default_factory=list, max_length=MAX_ITEMS)
    first_seen_at: datetime | None = None
    external_ids: ExternalIds = Field(
        default_factory=dict,
        description="the lead's ids in other systems (hubspot, salesforce): where a CRM connector "
        "finds the contact or lead record; absent in older records",
    )


class LeadScored(EventData):
    """A lead's fit or interest score changed."""

    event_type: ClassVar[str] = "leadloop.lead.scored.v1"
    topic: ClassVar[str] = topics.LIFECYCLE

    lead_id: Text
    fit: float
    interest: float
    total: float
    grade: Grade
    interest_band: Text
    breakdown: list[ScoreLine] = Field(max_length=MAX_ITEMS)
    agreement_version: Text
    scored_at: datetime


class LeadStageChanged(EventData):
    """A lead moved between lifecycle stages; an SQL carries the complete lead intelligence."""

    event_type: ClassVar[str] = "leadloop.lead.stage_changed.v1"
    topic: ClassVar[str] = topics.LIFECYCLE

    lead_id: Text
    from_stage: Stage
    to_stage: Stage
    reason: Note
    agreement_version: Text
    changed_at: datetime
    first_source: Text | None = None
    first_campaign: Text | None = None
    intelligence: LeadIntelligence | None = None
