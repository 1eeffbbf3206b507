"""Feedback's handlers: one async function per event projected and per CRM command.

Events of all four topics fold into the closed-loop read model (and each lead's journey):
  agreement.published -> agreements           lead.captured -> leads, lead identities
  lead.activity_recorded -> lead campaigns    lead.erased -> the lead (identities, inbox) forgotten
  lead.scored -> lead scores                  lead.stage_changed -> stage_events, lead stage
  lead.assigned / reassigned -> assignments, reps (and identities)  lead.sla_breached -> breaches
  lead.linked -> lead identities (the CRM record routing's connector found or created)
  lead.touched / status_changed / deal.closed -> touches, statuses, deals
  crm.notification_received (HubSpot) -> the CRM inbox, recorded by its worker
CRM commands (HTTP) decide the sales side and publish on leads.feedback:
  (each item's lead and rep resolved first: `identities.resolve_items`)
  RecordTouches -> lead.touched   RecordStatusUpdates -> lead.status_changed (with the move)
  RecordDeals -> deal.closed (with the move)                 SetCampaignSpend -> campaigns
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import TypeVar

from leadloop_contract.agreement import rejection_reasons
from leadloop_events import topics
from leadloop_events.agreement import AgreementPublished
from leadloop_events.envelope import CloudEvent, EventData, new_event
from leadloop_events.feedback import DealClosed, LeadStatusChanged, LeadTouched
from leadloop_events.handoff import LeadAssigned, LeadLinked, LeadReassigned, SlaBreached
from leadloop_events.intake import (
    ActivityRecorded,
    CrmNotificationReceived,
    LeadCaptured,
    LeadErased,
)
from leadloop_events.lifecycle import LeadIntelligence, LeadScored, LeadStageChanged
from leadloop_feedback import identities
from leadloop_feedback.adapters.crm_inbox import inbox_of
from leadloop_feedback.adapters.uow import SqlUnitOfWork
from leadloop_feedback.config import Settings
from leadloop_feedback.domain import sales
from leadloop_feedback.domain.crm import (
    Campaign,
    CrmRefused,
    Item,
    Kind,
    Outcome,
    RecordDeals,
    RecordStatusUpdates,
    RecordTouches,
    SetCampaignSpend,
    Touch,
)
from leadloop_feedback.domain.journey import describe
from leadloop_feedback.domain.ports import FeedbackUnitOfWork
from leadloop_feedback.domain.read_model import (
    Capture,
    DealFact,
    Handoff,
    JourneyLine,
    PublishedAgreement,
    Reassignment,
    Scores,
    StageEntry,
    StatusFact,
    TouchFact,
)
from leadloop_runtime import Registry

SOURCE = "/leadloop/feedback"
W = TypeVar("W", bound=FeedbackUnitOfWork)
Projector = Callable[[W, CloudEvent, EventData], Awaitable[None]]


async def project_agreement(
    uow: FeedbackUnitOfWork, event: CloudEvent, data: AgreementPublished
) -> None:
    """Keep the version, for the CRM's reason codes and the reports' targets."""
    await uow.repo.save_agreement(
        PublishedAgreement(data.version, data.document, data.published_at)
    )


async def project_capture(uow: FeedbackUnitOfWork, event: CloudEvent, data: LeadCaptured) -> None:
    """The lead enters the funnel with its first source, campaign, time and company; CRMs may
    name it by its email or CRM ids from now on."""
    company = data.profile.company
    await uow.repo.capture(
        Capture(data.lead_id, data.source, data.campaign, data.submitted_at, company)
    )
    await identities.remember_lead(
        uow, data.lead_id, data.profile.email, data.external_ids, event.time
    )


async def project_activity(
    uow: FeedbackUnitOfWork, event: CloudEvent, data: ActivityRecorded
) -> None:
    """An activity through a campaign credits that campaign too."""
    if data.campaign:
        await uow.repo.add_campaign(data.lead_id, data.campaign)


async def project_erasure(uow: FeedbackUnitOfWork, event: CloudEvent, data: LeadErased) -> None:
    """Forget the person (the reports keep the counts), how CRMs named them, and the CRM
    inbox's rows about them (found by those names, so first)."""
    inbox = inbox_of(uow)
    if inbox is not None:
        await inbox.forget_lead(data.lead_id)
    await uow.repo.erase(data.lead_id)
    await uow.repo.forget_lead_identities(data.lead_id)


async def project_score(uow: FeedbackUnitOfWork, event: CloudEvent, data: LeadScored) -> None:
    """The lead's latest fit and interest, for score calibration."""
    scores = Scores(data.fit, data.interest, data.grade, data.interest_band)
    await uow.repo.set_scores(data.lead_id, scores)


async def project_stage_change(
    uow: FeedbackUnitOfWork, event: CloudEvent, data: LeadStageChanged
) -> None:
    """A funnel move (marketing's, or the sales move feedback decided, as scoring applied it)."""
    await uow.repo.add_stage_entry(
        StageEntry(
            event.id, data.lead_id, data.from_stage, data.to_stage, data.reason, data.changed_at
        )
    )
    if data.intelligence is not None:
        await _remember_intelligence(uow, data.lead_id, data.intelligence, event.time)


async def project_assignment(
    uow: FeedbackUnitOfWork, event: CloudEvent, data: LeadAssigned
) -> None:
    """The hand-off: the lead may now be touched, by the rep it names."""
    if data.owner_rep_id:
        names = {data.owner_rep_id: data.owner_name} if data.owner_name else {}
        await uow.repo.know_reps([data.owner_rep_id], data.assigned_at, names)
    await identities.remember_rep(
        uow, data.owner_rep_id, data.owner_email, data.owner_crm_ids, event.time
    )
    await _remember_intelligence(uow, data.lead_id, data.intelligence, event.time)
    await uow.repo.add_handoff(
        Handoff(
            data.assignment_id,
            data.lead_id,
            data.team,
            data.owner_rep_id,
            data.assigned_at,
            data.sla_deadline,
        )
    )


async def project_reassignment(
    uow: FeedbackUnitOfWork, event: CloudEvent, data: LeadReassigned
) -> None:
    """The hand-off moves to another rep; both reps may touch the lead."""
    named = [r for r in (data.from_rep_id, data.to_rep_id) if r]
    names = {data.to_rep_id: data.owner_name} if data.to_rep_id and data.owner_name else {}
    await uow.repo.know_reps(named, data.reassigned_at, names)
    await identities.remember_rep(uow, data.to_rep_id, None, data.to_crm_ids, event.time)
    await uow.repo.reassign(Reassignment(data.assignment_id, data.to_rep_id, data.sla_deadline))


async def project_link(uow: FeedbackUnitOfWork, event: CloudEvent, data: LeadLinked) -> None:
    """Routing's connector found or created the lead's CRM record: CRM input naming that id
    (a HubSpot contact, a Salesforce Lead) resolves to the lead from now on."""
    ids = {data.system: data.external_id}
    await identities.remember_lead(uow, data.lead_id, None, ids, event.time)


async def _remember_intelligence(
    uow: FeedbackUnitOfWork, lead_id: str, intelligence: LeadIntelligence, at: datetime
) -> None:
    await identities.remember_lead(
        uow, lead_id, intelligence.profile.email, intelligence.external_ids, at
    )


async def project_breach(uow: FeedbackUnitOfWork, event: CloudEvent, data: SlaBreached) -> None:
    """One more missed deadline on the hand-off."""
    await uow.repo.count_breach(data.assignment_id)


async def project_touch(uow: FeedbackUnitOfWork, event: CloudEvent, data: LeadTouched) -> None:
    """A touch, for speed to lead."""
    await uow.repo.add_touch(
        TouchFact(
            data.crm_event_id,
            data.lead_id,
            data.rep_id,
            data.channel,
            data.outcome,
            data.touched_at,
        )
    )


async def project_status(
    uow: FeedbackUnitOfWork, event: CloudEvent, data: LeadStatusChanged
) -> None:
    """A CRM status, for lead quality."""
    await uow.repo.add_status(
        StatusFact(data.crm_event_id, data.lead_id, data.status, data.reason_code, data.changed_at)
    )


async def project_deal(uow: FeedbackUnitOfWork, event: CloudEvent, data: DealClosed) -> None:
    """A deal, for revenue."""
    # A deal can arrive after the erasure (topics are not ordered against each other): its
    # free-text reason may name the person, so it is not kept for an erased lead.
    lead = await uow.repo.lead(data.lead_id)
    erased = lead is not None and lead.erased
    await uow.repo.add_deal(
        DealFact(
            data.crm_event_id,
            data.deal_id,
            data.lead_id,
            data.stage,
            data.amount,
            data.currency,
            data.recurring,
            None if erased else data.reason,
            data.closed_at,
        )
    )


async def receive_crm_notification(
    uow: FeedbackUnitOfWork, event: CloudEvent, data: CrmNotificationReceived
) -> None:
    """Keep a HubSpot notification in the CRM inbox, once by its event key: the inbox worker
    reads the CRM and records it (entrypoints/hubspot_inbox.py)."""
    inbox = inbox_of(uow)
    if inbox is not None and data.system == "hubspot":
        await inbox.store(data, event.time)


def with_journey(handler: Projector[W]) -> Projector[W]:
    """Also write the event's line in the lead's journey (an erasure deletes the journey)."""

    async def handle(uow: W, event: CloudEvent, data: EventData) -> None:
        await handler(uow, event, data)
        lead_id = getattr(data, "lead_id", None)
        if lead_id is None:
            return
        if isinstance(data, LeadErased):
            await uow.repo.forget_journey(lead_id)
            return
        summary = describe(event.type, event.data)
        await uow.repo.add_journey_line(
            JourneyLine(event.id, lead_id, event.type, event.time, summary)
        )

    return handle


async def record_touches(uow: FeedbackUnitOfWork, command: RecordTouches) -> Outcome:
    """Touches after a hand-off, by a rep it named."""
    return await _record(uow, "touch", command.items, command.received_at)


async def record_status_updates(uow: FeedbackUnitOfWork, command: RecordStatusUpdates) -> Outcome:
    """Statuses, each with the sales-side move feedback decides."""
    return await _record(uow, "status", command.items, command.received_at)


async def record_deals(uow: FeedbackUnitOfWork, command: RecordDeals) -> Outcome:
    """Deals, each with the sales-side move feedback decides."""
    return await _record(uow, "deal", command.items, command.received_at)


async def set_campaign_spend(uow: FeedbackUnitOfWork, command: SetCampaignSpend) -> Campaign:
    """Keep the campaign's cost."""
    await uow.repo.save_campaign(command.campaign)
    return command.campaign


async def _record(
    uow: FeedbackUnitOfWork, kind: Kind, items: Sequence[Item], now: datetime
) -> Outcome:
    """Decide each item in order, publish what is accepted; CrmRefused (nothing kept) if any
    item is refused. A crm_event_id seen before answers its first event id."""
    repo, outcome = uow.repo, Outcome()
    named = await identities.resolve_items(uow, items, outcome.errors)
    touches = [i for _, i in named if isinstance(i, Touch)]
    context = await repo.crm_context(
        {i.lead for _, i in named}, {t.lead for t in touches}, {t.rep_id or "" for t in touches}
    )
    agreement, stages = context.agreement, context.stages
    reasons = list(agreement.rejection_reasons) if agreement else rejection_reasons(None)
    for index, item in named:
        # The event's id is kept with the claim: a refused call keeps nothing (rolled back).
        event_id = str(uuid.uuid4())
        if not await repo.claim_request(kind, item, now, event_id):
            earlier = await repo.earlier_request(kind, item.crm_event_id)
            if not sales.same(item, earlier.body):
                outcome.errors.append(sales.reused(item).error(index))
            else:
                outcome.accepted.append(_answer(item, earlier.event_id, duplicate=True))
            continue
        decision = sales.decide(item, stages, reasons, context.handoffs)
        if isinstance(decision, sales.Problem):
            outcome.errors.append(decision.error(index))
            continue
        event = new_event(
            decision.event(), source=SOURCE, subject=item.lead, time=now, event_id=event_id
        )
        uow.publish(topics.FEEDBACK, event)
        if decision.move is not None:
            await repo.decide_stage(item.lead, decision.move.to_stage, now)
        outcome.accepted.append(_answer(item, event.id, duplicate=False))
    if outcome.errors:
        raise CrmRefused(outcome.errors)
    return outcome


def _answer(item: Item, event_id: str, *, duplicate: bool) -> dict[str, object]:
    return {"crm_event_id": item.crm_event_id, "event_id": event_id, "duplicate": duplicate}


def registry(settings: Settings | None = None) -> Registry[SqlUnitOfWork]:
    """Event type -> handler: what feedback folds into its read model, each also journaled."""
    events: Registry[SqlUnitOfWork] = Registry()
    events.on(AgreementPublished)(project_agreement)
    events.on(LeadCaptured)(project_capture)
    events.on(ActivityRecorded)(project_activity)
    events.on(LeadErased)(project_erasure)
    events.on(LeadScored)(project_score)
    events.on(LeadStageChanged)(project_stage_change)
    events.on(LeadAssigned)(project_assignment)
    events.on(LeadReassigned)(project_reassignment)
    events.on(LeadLinked)(project_link)
    events.on(SlaBreached)(project_breach)
    events.on(LeadTouched)(project_touch)
    events.on(LeadStatusChanged)(project_status)
    events.on(DealClosed)(project_deal)
    events.on(CrmNotificationReceived)(receive_crm_notification)
    return events.wrapped(with_journey)
