"""Scoring's handlers: the agreement applied to every lead event.

leadloop.lead.captured.v1           -> profile, sources    -> re-score, maybe MQL/SQL
leadloop.lead.activity_recorded.v1  -> activity            -> re-score, maybe MQL/SQL
leadloop.lead.erased.v1             -> forget the person
leadloop.lead.status_changed.v1     -> the sales-side move feedback decided, applied
leadloop.deal.closed.v1             -> the same: opportunity / customer / recycled
(decay scheduler)                   -> re-score
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from leadloop_contract.lifecycle import Transition, apply_decided
from leadloop_contract.values import Stage
from leadloop_events import topics
from leadloop_events.envelope import CloudEvent, EventData, new_event
from leadloop_events.feedback import DealClosed, LeadStatusChanged
from leadloop_events.intake import ActivityRecorded, LeadCaptured, LeadErased, LeadProfile
from leadloop_events.lifecycle import LeadIntelligence, LeadScored, LeadStageChanged
from leadloop_scoring.adapters.repository import LeadRecord
from leadloop_scoring.adapters.tables import CAMPAIGN_CHARS
from leadloop_scoring.adapters.uow import SqlUnitOfWork
from leadloop_scoring.agreements import CurrentAgreement
from leadloop_scoring.domain.intelligence import lead_intelligence
from leadloop_scoring.domain.interest import ActivityFact, next_rescore_at
from leadloop_scoring.domain.marketing import marketing_transition
from leadloop_scoring.domain.rules import Score, score

SOURCE = "/leadloop/scoring"


Handler = Callable[[SqlUnitOfWork, CloudEvent, EventData], Awaitable[None]]


class Scoring:
    """The handlers, bound to the agreement in force and the service's limits."""

    def __init__(self, agreements: CurrentAgreement, timeline_limit: int, history_limit: int):
        self.agreements = agreements
        self.timeline_limit = timeline_limit
        self.history_limit = history_limit

    def registry(self) -> dict[str, Handler]:
        """Message type -> handler: scoring's data-flow map."""
        return {
            LeadCaptured.event_type: self.on_captured,  # type: ignore[dict-item]
            ActivityRecorded.event_type: self.on_activity,  # type: ignore[dict-item]
            LeadErased.event_type: self.on_erased,  # type: ignore[dict-item]
            LeadStatusChanged.event_type: self.on_status_changed,  # type: ignore[dict-item]
            DealClosed.event_type: self.on_deal_closed,  # type: ignore[dict-item]
        }

    async def _lead(self, uow: SqlUnitOfWork, lead_id: str, at: datetime) -> LeadRecord:
        lead = await uow.repo.lead_for_update(lead_id)
        if lead is None:
            lead = LeadRecord(lead_id=lead_id, captured_at=at, stage_changed_at=at, is_new=True)
        return lead

    async def on_captured(self, uow: SqlUnitOfWork, event: CloudEvent, data: LeadCaptured) -> None:
        lead = await self._lead(uow, data.lead_id, data.submitted_at)
        if lead.erased_at is not None:
            return
        lead.profile = data.profile.model_dump(mode="json")
        lead.came_through(data.source, data.campaign)
        lead.captured_at = min(filter(None, [lead.captured_at, data.submitted_at]))
        await self.rescore(uow, lead, cause=event.type, correlation_id=event.correlationid)

    async def on_activity(
        self, uow: SqlUnitOfWork, event: CloudEvent, data: ActivityRecorded
    ) -> None:
        lead = await self._lead(uow, data.lead_id, data.occurred_at)
        if lead.erased_at is not None:
            return
        await uow.repo.add_activity(
            {
                "activity_id": data.activity_id,
                "lead_id": data.lead_id,
                "activity_type": data.activity_type,
                "occurred_at": data.occurred_at,
                "url": data.url,
                "campaign": data.campaign[:CAMPAIGN_CHARS] if data.campaign else None,
            }
        )
        lead.came_through(campaign=data.campaign)
        await self.rescore(uow, lead, cause=event.type, correlation_id=event.correlationid)

    async def on_erased(self, uow: SqlUnitOfWork, event: CloudEvent, data: LeadErased) -> None:
        lead = await self._lead(uow, data.lead_id, data.erased_at)
        lead.erased_at = lead.erased_at or data.erased_at
        lead.profile = None
        await uow.repo.save_lead(lead, datetime.now(UTC))
        await uow.repo.erase(data.lead_id, data.erased_at)

    async def on_status_changed(
        self, uow: SqlUnitOfWork, event: CloudEvent, data: LeadStatusChanged
    ) -> None:
        await self._sales_side(
            uow, event, data.lead_id, data.to_stage, data.status, data.changed_at
        )

    async def on_deal_closed(self, uow: SqlUnitOfWork, event: CloudEvent, data: DealClosed) -> None:
        await self._sales_side(
            uow, event, data.lead_id, data.to_stage, f"deal_{data.stage}", data.closed_at
        )

    async def _sales_side(
        self,
        uow: SqlUnitOfWork,
        event: CloudEvent,
        lead_id: str,
        to_stage: Stage | None,
        status: str,
        at: datetime,
    ) -> None:
        """Apply the move feedback decided and published; sales-side moves are its call."""
        lead = await self._lead(uow, lead_id, at)
        version, _ = await self.agreements.current(uow.repo)
        outcome = apply_decided(lead.stage, to_stage, status)
        if outcome is not None:
            if outcome.to_stage == "recycled":
                lead.recycled_at = at
            self._apply(uow, lead, outcome, version, None, event.type, event.correlationid, at)
            await uow.repo.record_stage(self._stage_row(lead_id, outcome, version, event.type, at))
        await uow.repo.save_lead(lead, datetime.now(UTC))

    async def rescore(
        self,
        uow: SqlUnitOfWork,
        lead: LeadRecord,
        *,
        cause: str,
        correlation_id: str | None = None,
        now: datetime | None = None,
    ) -> Score:
        """Score the lead under the agreement in force; publish what changed; save."""
        now = now or datetime.now(UTC)
        version, agreement = await self.agreements.current(uow.repo)
        rows = await uow.repo.activities_of(lead.lead_id, self.history_limit)
        facts = [
            ActivityFact(r["activity_type"], r["occurred_at"], r["campaign"], r["url"])
            for r in rows
        ]
        profile = LeadProfile.model_validate(lead.profile) if lead.profile else None
        since = lead.recycled_at if lead.stage == "recycled" else None
        result = score(agreement, profile, facts, now, since=since)
        breakdown = [line.model_dump(mode="json") for line in result.breakdown]
        changed = (
            round(result.total, 2) != round(lead.total, 2)
            or result.grade != lead.grade
            or version != lead.agreement_version
            or lead.is_new
        )
        lead.fit, lead.interest, lead.total = result.fit, result.interest, result.total
        lead.grade, lead.interest_band, lead.breakdown = (
            result.grade,
            result.interest_band,
            breakdown,
        )
        lead.agreement_version = version
        if changed:
            await uow.repo.record_score(
                {
                    "lead_id": lead.lead_id,
                    "fit": result.fit,
                    "interest": result.interest,
                    "total": result.total,
                    "grade": result.grade,
                    "interest_band": result.interest_band,
                    "breakdown": breakdown,
                    "agreement_version": version,
                    "cause": cause,
                    "scored_at": now,
                }
            )
            scored = LeadScored(
                lead_id=lead.lead_id,
                fit=result.fit,
                interest=result.interest,
                total=result.total,
                grade=result.grade,
                interest_band=result.interest_band,
                breakdown=list(result.breakdown),
                agreement_version=version,
                scored_at=now,
            )
            uow.publish(
                topics.LIFECYCLE,
                new_event(
                    scored, source=SOURCE, subject=lead.lead_id, correlation_id=correlation_id
                ),
            )
        transition = marketing_transition(
            agreement,
            lead.stage,
            result,
            recycled_at=lead.recycled_at,
            now=now,
        )
        if transition is not None:
            intelligence = (
                lead_intelligence(
                    profile,
                    result,
                    facts,
                    sources=lead.sources,
                    campaigns=lead.campaigns,
                    first_seen_at=lead.captured_at,
                    timeline_limit=self.timeline_limit,
                )
                if transition.to_stage == "sql"
                else None
            )
            self._apply(uow, lead, transition, version, intelligence, cause, correlation_id, now)
            await uow.repo.record_stage(
                self._stage_row(lead.lead_id, transition, version, cause, now)
            )
        due = next_rescore_at(agreement, facts, now)
        lead.next_rescore_at = due if due is not None and due > now else None
        await uow.repo.save_lead(lead, now)
        return result

    def _apply(
        self,
        uow: SqlUnitOfWork,
        lead: LeadRecord,
        transition: Transition,
        version: str,
        intelligence: LeadIntelligence | None,
        cause: str,
        correlation_id: str | None,
        at: datetime,
    ) -> None:
        changed = LeadStageChanged(
            lead_id=lead.lead_id,
            from_stage=transition.from_stage,
            to_stage=transition.to_stage,
            reason=transition.reason,
            agreement_version=version,
            changed_at=at,
            first_source=lead.first_source,
            first_campaign=lead.first_campaign,
            intelligence=intelligence,
        )
        uow.publish(
            topics.LIFECYCLE,
            new_event(changed, source=SOURCE, subject=lead.lead_id, correlation_id=correlation_id),
        )
        lead.stage, lead.stage_changed_at = transition.to_stage, at

    @staticmethod
    def _stage_row(
        lead_id: str, transition: Transition, version: str, cause: str, at: datetime
    ) -> dict[str, Any]:
        return {
            "lead_id": lead_id,
            "from_stage": transition.from_stage,
            "to_stage": transition.to_stage,
            "applied": True,
            "reason": transition.reason,
            "agreement_version": version,
            "cause": cause,
            "changed_at": at,
        }
