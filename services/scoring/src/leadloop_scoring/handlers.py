"""Scoring's handlers: the agreement applied to every lead event, one function each.

leadloop.lead.captured.v1           score_captured_lead  profile, sources -> re-score, MQL/SQL
leadloop.lead.activity_recorded.v1  record_activity      activity         -> re-score, MQL/SQL
  (both taken a run at a time by score_lead_events, batch_handlers.py: the same effect, but
   a lead scored several times in a run is announced by one lead.scored, its last)
leadloop.lead.erased.v1             erase_lead           forget the person
leadloop.lead.status_changed.v1     apply_sales_move     the sales-side move feedback decided
leadloop.deal.closed.v1             apply_deal           the same: opportunity / customer / recycled
RescoreDueLeads (decay scheduler)   rescore_due_leads    decay crossed a threshold -> re-score

Publishing an agreement (HTTP, start-up) is agreement_handlers.py.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TypeVar

from leadloop_contract.agreement import Agreement
from leadloop_contract.lifecycle import Transition, apply_decided
from leadloop_contract.values import Stage
from leadloop_events.envelope import CloudEvent, EventData, new_event
from leadloop_events.feedback import DealClosed, LeadStatusChanged
from leadloop_events.intake import ActivityRecorded, LeadCaptured, LeadErased
from leadloop_events.lifecycle import LeadIntelligence
from leadloop_runtime import BatchItems, Handler, Registry
from leadloop_scoring.adapters.agreements import CurrentAgreement
from leadloop_scoring.adapters.batch import BatchWrites, Writes
from leadloop_scoring.adapters.uow import ScoringUnitOfWork, SqlUnitOfWork
from leadloop_scoring.config import Settings
from leadloop_scoring.domain.intelligence import lead_intelligence
from leadloop_scoring.domain.interest import ActivityFact, next_rescore_at
from leadloop_scoring.domain.lead import CAMPAIGN_CHARS, Cause, ScoredLead, StageMove
from leadloop_scoring.domain.marketing import marketing_transition
from leadloop_scoring.domain.rules import Score, score

SOURCE = "/leadloop/scoring"
T = TypeVar("T", bound=EventData)


def utc_now() -> datetime:
    """The time now, in UTC."""
    return datetime.now(UTC)


@dataclass(frozen=True)
class Context:
    """What the handlers are bound to: the agreement in force, the service's limits, and the
    clock a lead event is scored at."""

    agreements: CurrentAgreement = field(default_factory=CurrentAgreement)
    timeline_limit: int = 25
    history_limit: int = 500
    clock: Callable[[], datetime] = utc_now

    @classmethod
    def of(cls, settings: Settings) -> Context:
        """The context the settings describe (a fresh agreement cache; no I/O)."""
        return cls(CurrentAgreement(), settings.timeline_limit, settings.activity_history_limit)


DECAY = Cause("leadloop.scoring.decay")


@dataclass(frozen=True)
class RescoreDueLeads:
    """Re-score the leads whose decay is due at `now`, at most `batch` of them."""

    now: datetime
    batch: int


ContextHandler = Callable[[ScoringUnitOfWork, CloudEvent, T, Context], Awaitable[None]]


def _bound(handler: ContextHandler[T], context: Context) -> Handler[SqlUnitOfWork, T]:
    """`handler` with its context bound: what the consumer loop calls (name kept)."""

    @functools.wraps(handler)
    async def bound(uow: SqlUnitOfWork, event: CloudEvent, data: T) -> None:
        await handler(uow, event, data, context)

    return bound


def registry(
    settings: Settings | None = None, *, context: Context | None = None
) -> Registry[SqlUnitOfWork]:
    """Event type -> handler: scoring's data-flow map (building it does no I/O)."""
    from leadloop_scoring.batch_handlers import score_lead_events  # it builds on this module

    context = context or Context.of(settings or Settings())
    handlers: Registry[SqlUnitOfWork] = Registry()

    @functools.wraps(score_lead_events)
    async def score_runs(uow: SqlUnitOfWork, items: BatchItems) -> None:
        await score_lead_events(uow, items, context)

    # Captures and activities a run at a time: each run's leads loaded at once, written at once.
    handlers.batch(LeadCaptured, ActivityRecorded)(score_runs)
    handlers.on(LeadErased)(erase_lead)
    handlers.on(LeadStatusChanged)(_bound(apply_sales_move, context))
    handlers.on(DealClosed)(_bound(apply_deal, context))
    return handlers


async def score_captured_lead(
    uow: ScoringUnitOfWork, event: CloudEvent, data: LeadCaptured, context: Context
) -> None:
    """A form fill: the latest profile and where it came from, then re-score."""
    lead = await _lead(uow, data.lead_id, data.submitted_at)
    if lead.erased_at is not None:
        return
    lead.captured(data.profile, data.source, data.campaign, data.submitted_at, data.external_ids)
    await rescore(uow, lead, context, Cause.of(event))


async def record_activity(
    uow: ScoringUnitOfWork, event: CloudEvent, data: ActivityRecorded, context: Context
) -> None:
    """A behaviour signal: keep it (once), note its campaign, then re-score."""
    lead = await _lead(uow, data.lead_id, data.occurred_at)
    if lead.erased_at is not None:
        return
    campaign = data.campaign[:CAMPAIGN_CHARS] if data.campaign else None
    fact = ActivityFact(data.activity_type, data.occurred_at, campaign, data.url)
    await uow.repo.add_activity(data.lead_id, data.activity_id, fact)
    lead.came_through(campaign=data.campaign)
    await rescore(uow, lead, context, Cause.of(event))


async def erase_lead(uow: ScoringUnitOfWork, event: CloudEvent, data: LeadErased) -> None:
    """Forget the person; the anonymous funnel facts stay."""
    await uow.repo.erase(data.lead_id, data.erased_at)


async def apply_sales_move(
    uow: ScoringUnitOfWork, event: CloudEvent, data: LeadStatusChanged, context: Context
) -> None:
    """Apply the move feedback decided from a CRM status: sales-side moves are its call."""
    await _apply_decided(
        uow, event, context, data.lead_id, data.to_stage, data.status, data.changed_at
    )


async def apply_deal(
    uow: ScoringUnitOfWork, event: CloudEvent, data: DealClosed, context: Context
) -> None:
    """Apply the move feedback decided from a deal: opportunity, customer or recycled."""
    status = f"deal_{data.stage}"
    await _apply_decided(uow, event, context, data.lead_id, data.to_stage, status, data.closed_at)


async def rescore_due_leads(
    uow: ScoringUnitOfWork, command: RescoreDueLeads, context: Context
) -> int:
    """Re-score the leads whose decay deadline passed (claimed, so replicas share the work):
    the batch claimed, its activities read and its changes written set-based."""
    due = await uow.repo.claim_due_leads(command.now, command.batch)
    if not due:
        return 0
    version, agreement = await context.agreements.current(uow.repo)
    history = await uow.repo.activities_of_leads(
        [lead.lead_id for lead in due], context.history_limit
    )
    writes = BatchWrites()
    for lead in due:
        facts = history.get(lead.lead_id, [])
        await score_lead(
            uow, writes, lead, (version, agreement), facts, context, DECAY, command.now
        )
    await writes.flush(uow.repo)
    return len(due)


async def rescore(
    uow: ScoringUnitOfWork,
    lead: ScoredLead,
    context: Context,
    cause: Cause,
    now: datetime | None = None,
) -> Score:
    """Score the lead under the agreement in force; publish what changed; save."""
    now = now or context.clock()
    in_force = await context.agreements.current(uow.repo)
    facts = await uow.repo.activities_of(lead.lead_id, context.history_limit)
    return await score_lead(uow, uow.repo, lead, in_force, facts, context, cause, now)


async def score_lead(
    uow: ScoringUnitOfWork,
    writes: Writes,
    lead: ScoredLead,
    in_force: tuple[str, Agreement],
    facts: list[ActivityFact],
    context: Context,
    cause: Cause,
    now: datetime,
) -> Score:
    """Score the lead on its facts; publish what changed; hand the writes to `writes`."""
    version, agreement = in_force
    result = score(agreement, lead.profile, facts, now, since=lead.interest_since)
    if lead.rescored(result, version):
        await writes.record_score(lead, cause.name, now)
        publish_event(uow, lead.scored(version, now), lead.lead_id, cause)
    move = marketing_transition(
        agreement, lead.stage, result, recycled_at=lead.recycled_at, now=now
    )
    if move is not None:
        intelligence = None
        if move.to_stage == "sql":  # the hand-off: sales gets everything marketing knows
            intelligence = lead_intelligence(
                lead.profile,
                result,
                facts,
                sources=lead.sources,
                campaigns=lead.campaigns,
                first_seen_at=lead.captured_at,
                timeline_limit=context.timeline_limit,
                external_ids=lead.external_ids,
            )
        await _move(uow, lead, move, version, cause, now, intelligence, writes=writes)
    # Timed on the interest the next re-score will count: a recycled lead's from its recycling.
    lead.decay_due(next_rescore_at(agreement, facts, now, since=lead.interest_since), now)
    await writes.save_lead(lead, now)
    return result


async def _lead(uow: ScoringUnitOfWork, lead_id: str, at: datetime) -> ScoredLead:
    return await uow.repo.lead_for_update(lead_id) or ScoredLead.first_seen(lead_id, at)


async def _apply_decided(
    uow: ScoringUnitOfWork,
    event: CloudEvent,
    context: Context,
    lead_id: str,
    to_stage: Stage | None,
    status: str,
    at: datetime,
) -> None:
    """Apply a published sales-side decision as it stands; it is not decided again here."""
    lead = await _lead(uow, lead_id, at)
    version, _ = await context.agreements.current(uow.repo)
    move = apply_decided(lead.stage, to_stage, status)
    if move is not None:
        await _move(uow, lead, move, version, Cause.of(event), at)
    await uow.repo.save_lead(lead, datetime.now(UTC))


async def _move(
    uow: ScoringUnitOfWork,
    lead: ScoredLead,
    transition: Transition,
    version: str,
    cause: Cause,
    at: datetime,
    intelligence: LeadIntelligence | None = None,
    *,
    writes: Writes | None = None,
) -> None:
    publish_event(uow, lead.move(transition, version, at, intelligence), lead.lead_id, cause)
    move = StageMove(lead.lead_id, transition, version, cause.name, at)
    await (writes or uow.repo).record_stage(move)


def publish_event(uow: ScoringUnitOfWork, data: EventData, subject: str, cause: Cause) -> None:
    event = new_event(data, source=SOURCE, subject=subject, correlation_id=cause.correlation_id)
    uow.publish(data.topic, event)
