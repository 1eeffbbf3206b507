"""The scored lead: who they are, how they score, where they stand, and when decay is due.

Pure: the handlers load a `ScoredLead` from the repository, change it with these methods inside
one unit of work, and hand it back to be saved.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from leadloop_contract.bounds import MAX_ITEMS
from leadloop_contract.lifecycle import Transition
from leadloop_contract.profile import LeadProfile
from leadloop_contract.values import ExternalIds, Grade, Stage
from leadloop_events.envelope import CloudEvent
from leadloop_events.lifecycle import LeadIntelligence, LeadScored, LeadStageChanged, ScoreLine
from leadloop_scoring.domain.rules import Score

SOURCE_CHARS = 100
"""A source as scoring keeps it (longer ones are cut: attribution labels, not data)."""
CAMPAIGN_CHARS = 200
"""A campaign as scoring keeps it."""


@dataclass
class ScoredLead:
    """A lead as scoring keeps it (mutable inside one unit of work)."""

    lead_id: str
    stage: Stage = "lead"
    stage_changed_at: datetime | None = None
    profile: LeadProfile | None = None
    fit: float = 0.0
    interest: float = 0.0
    total: float = 0.0
    grade: Grade = "D"
    interest_band: str = ""
    breakdown: list[ScoreLine] = field(default_factory=list)
    agreement_version: str | None = None
    # The most recent MAX_ITEMS sources and campaigns; the repository keeps them all.
    sources: list[str] = field(default_factory=list)
    campaigns: list[str] = field(default_factory=list)
    first_source: str | None = None
    first_campaign: str | None = None
    captured_at: datetime | None = None
    recycled_at: datetime | None = None
    next_rescore_at: datetime | None = None
    erased_at: datetime | None = None
    # The lead's ids in other systems, as intake last announced them (hubspot, salesforce).
    external_ids: ExternalIds = field(default_factory=dict)
    is_new: bool = False
    # What this unit of work added, for the repository to append (not rewrite) in storage.
    added_sources: list[str] = field(default_factory=list)
    added_campaigns: list[str] = field(default_factory=list)

    @classmethod
    def first_seen(cls, lead_id: str, at: datetime) -> ScoredLead:
        """A lead scoring has not seen before, first heard of at `at`."""
        return cls(lead_id=lead_id, captured_at=at, stage_changed_at=at, is_new=True)

    def came_through(self, source: str | None = None, campaign: str | None = None) -> None:
        """Note where the lead came from; `sources` and `campaigns` hold the most recent ones."""
        if source:
            self.first_source = self.first_source or source[:SOURCE_CHARS]
            _remember(self.sources, self.added_sources, source[:SOURCE_CHARS])
        if campaign:
            self.first_campaign = self.first_campaign or campaign[:CAMPAIGN_CHARS]
            _remember(self.campaigns, self.added_campaigns, campaign[:CAMPAIGN_CHARS])

    def captured(
        self,
        profile: LeadProfile,
        source: str | None,
        campaign: str | None,
        at: datetime,
        external_ids: ExternalIds | None = None,
    ) -> None:
        """A form fill: the latest profile, its source and campaign, the earliest capture, and
        the ids other systems know the lead by (merged: an older record without them erases
        none)."""
        self.profile = profile
        self.external_ids = {**self.external_ids, **(external_ids or {})}
        self.came_through(source, campaign)
        self.captured_at = min(self.captured_at, at) if self.captured_at else at

    @property
    def interest_since(self) -> datetime | None:
        """A recycled lead's interest counts from its recycling on."""
        return self.recycled_at if self.stage == "recycled" else None

    def rescored(self, result: Score, version: str) -> bool:
        """Take the new score; whether it changed what others were told (a new lead always)."""
        changed = (
            round(result.total, 2) != round(self.total, 2)
            or result.grade != self.grade
            or version != self.agreement_version
            or self.is_new
        )
        self.fit, self.interest, self.total = result.fit, result.interest, result.total
        self.grade, self.interest_band = result.grade, result.interest_band
        self.breakdown = list(result.breakdown)
        self.agreement_version = version
        return changed

    def decay_due(self, due: datetime | None, now: datetime) -> None:
        """When decay alone next changes the score (None: never, or already past)."""
        self.next_rescore_at = due if due is not None and due > now else None

    def scored(self, version: str, at: datetime) -> LeadScored:
        """The `lead.scored` fact of the score the lead has now, under `version`."""
        return LeadScored(
            lead_id=self.lead_id,
            fit=self.fit,
            interest=self.interest,
            total=self.total,
            grade=self.grade,
            interest_band=self.interest_band,
            breakdown=self.breakdown,
            agreement_version=version,
            scored_at=at,
        )

    def move(
        self,
        transition: Transition,
        version: str,
        at: datetime,
        intelligence: LeadIntelligence | None = None,
    ) -> LeadStageChanged:
        """Move to the transition's stage; the `lead.stage_changed` fact of the move."""
        self.stage, self.stage_changed_at = transition.to_stage, at
        if transition.to_stage == "recycled":
            self.recycled_at = at  # its interest counts afresh from here
        return LeadStageChanged(
            lead_id=self.lead_id,
            from_stage=transition.from_stage,
            to_stage=transition.to_stage,
            reason=transition.reason,
            agreement_version=version,
            changed_at=at,
            first_source=self.first_source,
            first_campaign=self.first_campaign,
            intelligence=intelligence,
        )


@dataclass(frozen=True)
class Cause:
    """Why a lead is re-scored or moved: recorded in its history, carried by its events."""

    name: str
    correlation_id: str | None = None

    @classmethod
    def of(cls, event: CloudEvent) -> Cause:
        """The event that caused the change."""
        return cls(event.type, event.correlationid)


@dataclass(frozen=True)
class StageMove:
    """A move applied to a lead, as its stage history keeps it."""

    lead_id: str
    transition: Transition
    agreement_version: str
    cause: str
    at: datetime


def _remember(recent: list[str], added: list[str], value: str) -> None:
    if value not in recent:
        recent.append(value)
        del recent[:-MAX_ITEMS]
        added.append(value)
