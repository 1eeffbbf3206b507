"""The SLA ladder: a lead nobody touched in time is warned about, escalated to the manager,
reassigned to another rep, and at last queued for the team."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta
from typing import Any

from leadloop_contract.agreement import Agreement
from leadloop_events.handoff import LeadReassigned, SlaBreached
from leadloop_routing.adapters.ports import RoutingUnitOfWork
from leadloop_routing.alerts import AlertEmail, Outbound
from leadloop_routing.domain.assignment import Assignment
from leadloop_routing.domain.commands import EscalateDueLeads
from leadloop_routing.domain.connectors import job_context
from leadloop_routing.domain.sla import first_touch_deadline, policy_from, queue_of, step_at
from leadloop_routing.handlers.leads import choose_owner, current_agreement


async def escalate_due_leads(
    uow: RoutingUnitOfWork, command: EscalateDueLeads, *, outbound: Outbound
) -> int:
    """Take the due SLA step of each due assignment (at most `limit`); how many were due."""
    # The teams' round-robin locks before the due rows, as a consumer batch takes them before
    # it touches a lead: the batch may wait here, this never waits for the batch's rows (the
    # due ones locked elsewhere are skipped), so the two cannot deadlock.
    current = await uow.repo.current_agreement()
    if current is not None:
        await uow.repo.lock_teams(team.name for team in current[1].routing.teams)
    due = await uow.repo.due_assignments(command.now, command.limit)
    if not due:
        return 0
    _, agreement = await current_agreement(uow)
    for assignment in due:
        await escalate_lead(uow, agreement, assignment, command.now, outbound)
    return len(due)


async def escalate_lead(
    uow: RoutingUnitOfWork,
    agreement: Agreement,
    assignment: Assignment,
    now: datetime,
    outbound: Outbound,
) -> None:
    """Take one assignment's due step: warn, notify the manager, reassign, or queue."""
    policy = policy_from(agreement.sla)
    step = step_at(policy, assignment.timer_step, assignment.reassignments)
    breach = SlaBreached(
        lead_id=assignment.lead_id,
        assignment_id=assignment.assignment_id,
        rep_id=assignment.rep_id,
        team=assignment.team,
        deadline=assignment.sla_deadline,
        breached_at=now,
        step=step,
    )
    rep = await uow.repo.rep(assignment.rep_id) if assignment.rep_id else None
    context = job_context(agreement, assignment.team, rep, assignment.intelligence)
    await outbound.publish(uow, breach, assignment.lead_id, None, now, context=context)
    assignment.took_step(step, now)
    if step in ("warn", "notify_manager"):
        if step == "notify_manager":
            await notify_manager(uow, assignment, now, outbound)
        assignment.escalate_later(now + timedelta(minutes=policy.step_minutes))
        await uow.repo.save_assignment(assignment)
        return
    await move_lead(uow, agreement, assignment, now, outbound, reassign=step == "reassign")


async def move_lead(
    uow: RoutingUnitOfWork,
    agreement: Agreement,
    assignment: Assignment,
    now: datetime,
    outbound: Outbound,
    *,
    reassign: bool,
) -> None:
    """Reassign to a rep not tried yet, or (none, or the ladder's end) queue for the team."""
    before = dataclasses.replace(assignment)
    decision = None
    rep = None
    # An erased lead has no facts left to route on: it can only wait in the queue.
    if reassign and assignment.intelligence is not None:
        exclude = assignment.tried_reps()
        decision = await choose_owner(uow, agreement, assignment.intelligence, now, exclude)
    if decision is not None and decision.rep_id is not None:
        deadline = first_touch_deadline(agreement, decision.team, now)
        assignment.reassign(decision, deadline, now)
        rep = await uow.repo.rep(decision.rep_id)
        if rep is not None:
            email = AlertEmail(
                key=f"reassigned:{assignment.assignment_id}:{rep.rep_id}",
                rep=rep,
                lead_id=assignment.lead_id,
                intelligence=_json(assignment),
                deadline=deadline,
                reason=f"reassigned: {before.rep_id} did not follow up in time",
                team=decision.team,
            )
            await outbound.email(uow, email, now)
    else:
        assignment.to_queue(queue_of(agreement, assignment.team), now)
    await uow.repo.save_assignment(assignment)
    moved = LeadReassigned(
        lead_id=assignment.lead_id,
        assignment_id=assignment.assignment_id,
        from_rep_id=before.rep_id,
        to_rep_id=assignment.rep_id,
        owner_name=rep.name if rep else None,
        to_crm_ids=dict(rep.crm_ids) if rep else {},
        intelligence=assignment.intelligence if rep else None,
        team=assignment.team,
        reason=f"SLA: no first touch by {before.sla_deadline:%Y-%m-%d %H:%M} UTC",
        attempt=before.reassignments + 1,
        sla_deadline=assignment.sla_deadline if assignment.rep_id else None,
        reassigned_at=now,
    )
    context = job_context(agreement, assignment.team, rep, moved.intelligence)
    await outbound.publish(uow, moved, assignment.lead_id, None, now, context=context)


async def notify_manager(
    uow: RoutingUnitOfWork, assignment: Assignment, now: datetime, outbound: Outbound
) -> None:
    """Email the owner's manager (when the rep names one) that the SLA was breached."""
    rep = await uow.repo.rep(assignment.rep_id) if assignment.rep_id else None
    if rep is None or not rep.manager_email:
        return
    manager = dataclasses.replace(
        rep,
        rep_id=f"manager-of-{rep.rep_id}",
        name=f"manager of {rep.name}",
        email=rep.manager_email,
    )
    email = AlertEmail(
        key=f"manager:{assignment.assignment_id}:{assignment.reassignments}",
        rep=manager,
        lead_id=assignment.lead_id,
        intelligence=_json(assignment),
        deadline=assignment.sla_deadline,
        reason=f"SLA breached: {rep.name} has not touched this lead",
        team=assignment.team,
    )
    await outbound.email(uow, email, now)


def _json(assignment: Assignment) -> dict[str, Any] | None:
    """The lead intelligence as the alert email reads it (None once erased)."""
    return (
        None if assignment.intelligence is None else assignment.intelligence.model_dump(mode="json")
    )
