"""The closed-loop read model: every event of all four topics, folded into report tables.

Idempotent by construction (natural keys, ON CONFLICT) and independent of arrival order across
topics: speed to lead, for instance, is computed from touches and assignments at report time.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert

from leadloop_contract.agreement import stored_document
from leadloop_events.agreement import AgreementPublished
from leadloop_events.envelope import CloudEvent, EventData
from leadloop_events.feedback import DealClosed, LeadStatusChanged, LeadTouched
from leadloop_events.handoff import LeadAssigned, LeadReassigned, SlaBreached
from leadloop_events.intake import ActivityRecorded, LeadCaptured, LeadErased
from leadloop_events.lifecycle import LeadScored, LeadStageChanged
from leadloop_feedback.adapters.tables import (
    agreements,
    assignments,
    crm_requests,
    deals,
    journey,
    leads,
    outbox,
    reps,
    stage_events,
    statuses,
    touches,
)
from leadloop_feedback.adapters.uow import SqlUnitOfWork
from leadloop_feedback.domain.journey import describe

Handler = Callable[[SqlUnitOfWork, CloudEvent, EventData], Awaitable[None]]


async def _touch_lead(uow: SqlUnitOfWork, lead_id: str, **values: Any) -> None:
    """Make sure the lead exists, then set `values` (a later captured event fills the rest)."""
    now = datetime.now(UTC)
    stmt = insert(leads).values(lead_id=lead_id, updated_at=now, **values)
    await uow.conn.execute(
        stmt.on_conflict_do_update(
            index_elements=[leads.c.lead_id], set_={**values, "updated_at": now}
        )
    )


async def on_captured(uow: SqlUnitOfWork, event: CloudEvent, data: LeadCaptured) -> None:
    now = datetime.now(UTC)
    campaign = [data.campaign] if data.campaign else []
    stmt = insert(leads).values(
        lead_id=data.lead_id,
        source=data.source,
        campaign=data.campaign,
        campaigns=campaign,
        first_seen_at=data.submitted_at,
        updated_at=now,
    )
    await uow.conn.execute(
        stmt.on_conflict_do_update(
            index_elements=[leads.c.lead_id],
            set_={
                "source": sa.func.coalesce(leads.c.source, stmt.excluded.source),
                "campaign": sa.func.coalesce(leads.c.campaign, stmt.excluded.campaign),
                "first_seen_at": sa.func.least(leads.c.first_seen_at, stmt.excluded.first_seen_at),
                "campaigns": _append(data.campaign),
                "updated_at": now,
            },
        )
    )


def _append(campaign: str | None) -> Any:
    """campaigns with `campaign` added once, order kept."""
    if not campaign:
        return leads.c.campaigns
    return sa.case(
        (sa.literal(campaign) == sa.any_(leads.c.campaigns), leads.c.campaigns),
        else_=sa.func.array_append(leads.c.campaigns, campaign),
    )


async def on_activity(uow: SqlUnitOfWork, event: CloudEvent, data: ActivityRecorded) -> None:
    if data.campaign:
        await _touch_lead(uow, data.lead_id)
        await uow.conn.execute(
            leads.update()
            .where(leads.c.lead_id == data.lead_id)
            .values(campaigns=_append(data.campaign))
        )


async def on_erased(uow: SqlUnitOfWork, event: CloudEvent, data: LeadErased) -> None:
    """Forget the person: the CRM's free text, the CRM calls as received, events not relayed."""
    lead_id = data.lead_id
    await _touch_lead(uow, lead_id, erased=True)
    await uow.conn.execute(deals.update().where(deals.c.lead_id == lead_id).values(reason=None))
    # The rows stay (a repeated CRM call is still answered as a duplicate); their bodies go.
    await uow.conn.execute(
        crm_requests.update().where(crm_requests.c.lead_id == lead_id).values(body={"erased": True})
    )
    await uow.conn.execute(outbox.delete().where(outbox.c.key == lead_id))


async def on_scored(uow: SqlUnitOfWork, event: CloudEvent, data: LeadScored) -> None:
    await _touch_lead(
        uow,
        data.lead_id,
        fit=data.fit,
        interest=data.interest,
        grade=data.grade,
        interest_band=data.interest_band,
    )


async def on_stage_changed(uow: SqlUnitOfWork, event: CloudEvent, data: LeadStageChanged) -> None:
    await uow.conn.execute(
        insert(stage_events)
        .values(
            event_id=event.id,
            lead_id=data.lead_id,
            from_stage=data.from_stage,
            to_stage=data.to_stage,
            reason=data.reason,
            at=data.changed_at,
        )
        .on_conflict_do_nothing()
    )
    await _touch_lead(uow, data.lead_id, stage=data.to_stage)


async def _know_reps(uow: SqlUnitOfWork, at: datetime, *rep_ids: str | None) -> None:
    """Remember the reps a hand-off named: a CRM touch must come from one of them."""
    named = sorted({r for r in rep_ids if r})
    if named:
        await uow.conn.execute(
            insert(reps)
            .values([{"rep_id": r, "first_seen_at": at} for r in named])
            .on_conflict_do_nothing()
        )


async def on_assigned(uow: SqlUnitOfWork, event: CloudEvent, data: LeadAssigned) -> None:
    await _know_reps(uow, data.assigned_at, data.owner_rep_id)
    await uow.conn.execute(
        insert(assignments)
        .values(
            assignment_id=data.assignment_id,
            lead_id=data.lead_id,
            team=data.team,
            rep_id=data.owner_rep_id,
            assigned_at=data.assigned_at,
            sla_deadline=data.sla_deadline,
        )
        .on_conflict_do_nothing()
    )


async def on_reassigned(uow: SqlUnitOfWork, event: CloudEvent, data: LeadReassigned) -> None:
    await _know_reps(uow, data.reassigned_at, data.from_rep_id, data.to_rep_id)
    await uow.conn.execute(
        assignments.update()
        .where(assignments.c.assignment_id == data.assignment_id)
        .values(
            rep_id=data.to_rep_id,
            sla_deadline=data.sla_deadline,
            reassignments=assignments.c.reassignments + 1,
        )
    )


async def on_breached(uow: SqlUnitOfWork, event: CloudEvent, data: SlaBreached) -> None:
    await uow.conn.execute(
        assignments.update()
        .where(assignments.c.assignment_id == data.assignment_id)
        .values(breaches=assignments.c.breaches + 1)
    )


async def on_touched(uow: SqlUnitOfWork, event: CloudEvent, data: LeadTouched) -> None:
    await uow.conn.execute(
        insert(touches)
        .values(
            crm_event_id=data.crm_event_id,
            lead_id=data.lead_id,
            rep_id=data.rep_id,
            channel=data.channel,
            outcome=data.outcome,
            touched_at=data.touched_at,
        )
        .on_conflict_do_nothing()
    )


async def on_status(uow: SqlUnitOfWork, event: CloudEvent, data: LeadStatusChanged) -> None:
    await uow.conn.execute(
        insert(statuses)
        .values(
            crm_event_id=data.crm_event_id,
            lead_id=data.lead_id,
            status=data.status,
            reason_code=data.reason_code,
            changed_at=data.changed_at,
        )
        .on_conflict_do_nothing()
    )


async def on_deal(uow: SqlUnitOfWork, event: CloudEvent, data: DealClosed) -> None:
    # A deal can arrive after the erasure (topics are not ordered against each other): its
    # free-text reason may name the person, so it is not kept for an erased lead.
    erased = await uow.conn.scalar(sa.select(leads.c.erased).where(leads.c.lead_id == data.lead_id))
    await uow.conn.execute(
        insert(deals)
        .values(
            crm_event_id=data.crm_event_id,
            deal_id=data.deal_id,
            lead_id=data.lead_id,
            stage=data.stage,
            amount=data.amount,
            currency=data.currency,
            recurring=data.recurring,
            reason=None if erased else data.reason,
            closed_at=data.closed_at,
        )
        .on_conflict_do_nothing()
    )


async def on_agreement(uow: SqlUnitOfWork, event: CloudEvent, data: AgreementPublished) -> None:
    await uow.conn.execute(
        insert(agreements)
        .values(
            version=data.version,
            document=stored_document(data.document),
            published_at=data.published_at,
        )
        .on_conflict_do_nothing()
    )


def with_journey(handler: Handler) -> Handler:
    """Also write the event's line in the lead's journey (an erasure deletes the journey)."""

    async def handle(uow: SqlUnitOfWork, event: CloudEvent, data: EventData) -> None:
        await handler(uow, event, data)
        lead_id = getattr(data, "lead_id", None)
        if lead_id is None:
            return
        if isinstance(data, LeadErased):
            await uow.conn.execute(journey.delete().where(journey.c.lead_id == lead_id))
            return
        await uow.conn.execute(
            insert(journey)
            .values(
                event_id=event.id,
                lead_id=lead_id,
                event_type=event.type,
                at=event.time,
                summary=describe(event.type, event.data),
            )
            .on_conflict_do_nothing()
        )

    return handle


HANDLERS: dict[str, Handler] = {
    AgreementPublished.event_type: on_agreement,  # type: ignore[dict-item]
    LeadCaptured.event_type: on_captured,  # type: ignore[dict-item]
    ActivityRecorded.event_type: on_activity,  # type: ignore[dict-item]
    LeadErased.event_type: on_erased,  # type: ignore[dict-item]
    LeadScored.event_type: on_scored,  # type: ignore[dict-item]
    LeadStageChanged.event_type: on_stage_changed,  # type: ignore[dict-item]
    LeadAssigned.event_type: on_assigned,  # type: ignore[dict-item]
    LeadReassigned.event_type: on_reassigned,  # type: ignore[dict-item]
    SlaBreached.event_type: on_breached,  # type: ignore[dict-item]
    LeadTouched.event_type: on_touched,  # type: ignore[dict-item]
    LeadStatusChanged.event_type: on_status,  # type: ignore[dict-item]
    DealClosed.event_type: on_deal,  # type: ignore[dict-item]
}
REGISTRY: dict[str, Handler] = {kind: with_journey(h) for kind, h in HANDLERS.items()}
