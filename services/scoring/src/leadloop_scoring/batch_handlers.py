"""Scoring's hot path a run at a time: a consumer run of `lead.captured` and
`lead.activity_recorded` events folded into their leads in offset order, with exactly the effect
of `score_captured_lead` and `record_activity` applied one by one.

The run's leads are loaded and locked in one statement (in lead order), their activity histories
read in one, the run's new activities stored in one; each event then changes its lead in memory
and is scored on the history as it stands at that event (the agreement read once); the scores,
moves and leads are written at the end, one statement per table.

The events published are the one-by-one path's, in the same order, but for `lead.scored`: a lead
scored several times in the run is announced once, by its last `lead.scored` (the score it ends
the run with, where one by one would have said it last). Readers keep only a lead's latest score;
every score stays in scoring's own history. `lead.stage_changed` is published as one by one does.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from leadloop_contract.bounds import MAX_ITEMS
from leadloop_events.envelope import CloudEvent, EventData
from leadloop_events.intake import ActivityRecorded, LeadCaptured
from leadloop_events.lifecycle import LeadScored
from leadloop_scoring.adapters.lead_batches import FoldedWrites
from leadloop_scoring.adapters.repository import Repository
from leadloop_scoring.adapters.uow import ScoringUnitOfWork
from leadloop_scoring.domain.interest import ActivityFact
from leadloop_scoring.domain.lead import CAMPAIGN_CHARS, Cause, ScoredLead
from leadloop_scoring.handlers import Context, record_activity, score_captured_lead, score_lead

LeadEvent = tuple[CloudEvent, LeadCaptured | ActivityRecorded]
SCORED = LeadScored.event_type


@dataclass
class RunEvents:
    """The run's unit of work as its handlers see it: state through the real repository, events
    kept until the run ends; `release` then publishes them in order, less every `lead.scored`
    of a lead that a later one in the run supersedes."""

    uow: ScoringUnitOfWork
    events: list[tuple[str, CloudEvent]] = field(default_factory=list)

    @property
    def repo(self) -> Repository:
        """The real unit of work's repository."""
        return self.uow.repo

    def publish(self, topic: str, event: CloudEvent) -> None:
        """Keep an event until the run ends."""
        self.events.append((topic, event))

    def release(self) -> None:
        """Publish the kept events in order: of each lead's `lead.scored`, only the last."""
        last = {e.subject: n for n, (_, e) in enumerate(self.events) if e.type == SCORED}
        for n, (topic, event) in enumerate(self.events):
            if event.type != SCORED or last[event.subject] == n:
                self.uow.publish(topic, event)


async def score_lead_events(
    uow: ScoringUnitOfWork, items: Sequence[tuple[CloudEvent, EventData]], context: Context
) -> None:
    """Captures and activities, in order: each lead's events folded, each event scored; each
    lead's score announced once."""
    run = [_lead_event(event, data) for event, data in items]
    events = RunEvents(uow)
    await _fold(events, run, context)
    events.release()


async def _fold(uow: ScoringUnitOfWork, run: list[LeadEvent], context: Context) -> None:
    """The run applied: each event folded into its lead and scored, the writes made at once."""
    loaded = await uow.repo.leads_for_update(sorted({data.lead_id for _, data in run}))
    if _may_outgrow_recent(run, loaded):
        await _one_by_one(uow, run, context)
        return
    live = sorted({d.lead_id for _, d in run} - {i for i, x in loaded.items() if x.erased_at})
    history = await uow.repo.activities_of_leads(live, context.history_limit)
    new = await uow.repo.add_activities(_activities(run, set(live)))
    in_force = await context.agreements.current(uow.repo)
    writes, folded = FoldedWrites(), dict(loaded)
    for event, data in run:
        lead = folded.get(data.lead_id) or ScoredLead.first_seen(data.lead_id, _at(data))
        if lead.erased_at is not None:
            continue
        folded[data.lead_id] = lead
        if isinstance(data, LeadCaptured):
            profile, external_ids = data.profile, data.external_ids
            lead.captured(profile, data.source, data.campaign, data.submitted_at, external_ids)
        else:
            if data.activity_id in new:  # stored by this event (a repeated id: by its first)
                new.discard(data.activity_id)
                facts = [*history[data.lead_id], _fact(data)]
                facts.sort(key=lambda fact: fact.occurred_at, reverse=True)
                history[data.lead_id] = facts[: context.history_limit]
            lead.came_through(campaign=data.campaign)
        facts, cause, now = history[data.lead_id], Cause.of(event), context.clock()
        await score_lead(uow, writes, lead, in_force, facts, context, cause, now)
        lead.is_new = False  # saved: the next event finds it stored, as a reload would
    await writes.flush(uow.repo)


def _lead_event(event: CloudEvent, data: EventData) -> LeadEvent:
    if not isinstance(data, LeadCaptured | ActivityRecorded):
        raise TypeError(f"score_lead_events takes captures and activities, not {event.type}")
    return event, data


def _at(data: LeadCaptured | ActivityRecorded) -> datetime:
    return data.submitted_at if isinstance(data, LeadCaptured) else data.occurred_at


def _fact(data: ActivityRecorded) -> ActivityFact:
    campaign = data.campaign[:CAMPAIGN_CHARS] if data.campaign else None
    return ActivityFact(data.activity_type, data.occurred_at, campaign, data.url)


def _activities(run: list[LeadEvent], live: set[str]) -> list[tuple[str, str, ActivityFact]]:
    """The activities the run stores, as one by one would: of leads not erased, each id once
    (its first occurrence), in order."""
    rows: dict[str, tuple[str, str, ActivityFact]] = {}
    for _, data in run:
        if isinstance(data, ActivityRecorded) and data.lead_id in live:
            rows.setdefault(data.activity_id, (data.lead_id, data.activity_id, _fact(data)))
    return list(rows.values())


def _may_outgrow_recent(run: list[LeadEvent], loaded: dict[str, ScoredLead]) -> bool:
    """Whether a lead folded over several events could reach MAX_ITEMS sources or campaigns:
    loaded again, it would hold only the most recent of its stored ones, which a fold in memory
    cannot tell apart (a value stored long ago would be added again). Such a run goes one by
    one (a lead with about a hundred sources: rare)."""
    for lead_id, events in Counter(data.lead_id for _, data in run).items():
        lead = loaded.get(lead_id) or ScoredLead(lead_id)
        if events > 1 and max(len(lead.sources), len(lead.campaigns)) + events >= MAX_ITEMS:
            return True
    return False


async def _one_by_one(uow: ScoringUnitOfWork, run: list[LeadEvent], context: Context) -> None:
    """The run through the per-event handlers, in order."""
    for event, data in run:
        if isinstance(data, LeadCaptured):
            await score_captured_lead(uow, event, data, context)
        else:
            await record_activity(uow, event, data, context)
