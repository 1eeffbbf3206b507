"""What routing does when the lifecycle or sales speaks: an SQL gets its owner and alert, a
touch or a status stops the clock, an erasure forgets the person."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from leadloop_contract.agreement import Agreement
from leadloop_events.agreement import AgreementPublished
from leadloop_events.envelope import CloudEvent
from leadloop_events.feedback import LeadStatusChanged, LeadTouched
from leadloop_events.handoff import LeadAssigned
from leadloop_events.intake import LeadErased
from leadloop_events.lifecycle import LeadIntelligence, LeadStageChanged
from leadloop_routing import metrics
from leadloop_routing.adapters.ports import RoutingUnitOfWork
from leadloop_routing.alerts import AlertEmail, Outbound
from leadloop_routing.domain.assignment import Assignment
from leadloop_routing.domain.chain import LeadFacts, decide
from leadloop_routing.domain.connectors import job_context
from leadloop_routing.domain.errors import NoAgreement
from leadloop_routing.domain.model import Decision
from leadloop_routing.domain.sla import first_touch_deadline


async def current_agreement(uow: RoutingUnitOfWork) -> tuple[str, Agreement]:
    """The agreement in force and its version; NoAgreement before the first arrives."""
    current = await uow.repo.current_agreement()
    if current is None:
        raise NoAgreement("routing has not received an agreement yet")
    return current


async def choose_owner(
    uow: RoutingUnitOfWork,
    agreement: Agreement,
    intelligence: LeadIntelligence,
    now: datetime,
    exclude: frozenset[str] = frozenset(),
) -> Decision:
    """Run the decision chain on the current reps, loads and accounts; keep the RR state.

    In a consumer batch the repository reads the reps, the accounts, the weights (locked first)
    and the loads once; the weights and loads this decision changes are the next one's."""
    profile = intelligence.profile
    facts = LeadFacts(
        profile.email.rpartition("@")[2].lower(),
        profile.country,
        profile.company_size,
        profile.industry,
    )
    reps = await uow.repo.all_reps()
    account = await uow.repo.account(facts.email_domain)
    states = await uow.repo.rr_states(t.name for t in agreement.routing.teams)
    decision = decide(
        routing=agreement.routing,
        lead=facts,
        reps=reps,
        loads=await uow.repo.loads(reps, now),
        accounts={account.domain: account} if account else {},
        rr_state=states,
        now=now,
        exclude=exclude,
    )
    if decision.weights:
        await uow.repo.save_rr_state(decision.team, decision.weights)
    return decision


async def store_agreement(
    uow: RoutingUnitOfWork, event: CloudEvent, data: AgreementPublished
) -> None:
    """Keep the published agreement: its routing and SLA sections apply from now on."""
    await uow.repo.save_agreement(data.version, data.document, data.published_at)


async def assign_lead(
    uow: RoutingUnitOfWork, event: CloudEvent, data: LeadStageChanged, *, outbound: Outbound
) -> None:
    """An SQL: decide its owner, store the assignment, publish the alert, start the timer."""
    if data.to_stage != "sql":
        return
    if data.intelligence is None:
        raise ValueError(f"the SQL event for {data.lead_id} carries no lead intelligence")
    now = datetime.now(UTC)
    version, agreement = await current_agreement(uow)
    decision = await choose_owner(uow, agreement, data.intelligence, now)
    deadline = first_touch_deadline(agreement, decision.team, now)
    rep = await uow.repo.rep(decision.rep_id) if decision.rep_id else None
    assignment = Assignment.new(
        str(uuid.uuid4()),
        data.lead_id,
        decision,
        owned=rep is not None,
        agreement_version=version,
        intelligence=data.intelligence,
        deadline=deadline,
        now=now,
    )
    await uow.repo.add_assignment(assignment)
    alert = LeadAssigned(
        lead_id=data.lead_id,
        assignment_id=assignment.assignment_id,
        owner_rep_id=decision.rep_id,
        owner_email=rep.email if rep else None,
        owner_name=rep.name if rep else None,
        owner_crm_ids=dict(rep.crm_ids) if rep else {},
        team=decision.team,
        business=decision.business,
        sla_deadline=deadline,
        agreement_version=version,
        intelligence=data.intelligence,
        assigned_at=now,
    )
    context = job_context(agreement, decision.team, rep, data.intelligence)
    await outbound.publish(uow, alert, data.lead_id, event.correlationid, now, context=context)
    if rep is not None:
        email = AlertEmail(
            key=f"assigned:{assignment.assignment_id}:{rep.rep_id}",
            rep=rep,
            lead_id=data.lead_id,
            intelligence=data.intelligence.model_dump(mode="json"),
            deadline=deadline,
            reason="; ".join(decision.path),
            team=decision.team,
        )
        await outbound.email(uow, email, now)


async def stop_sla_timer(
    uow: RoutingUnitOfWork, event: CloudEvent, data: LeadTouched | LeadStatusChanged
) -> None:
    """Sales touched the lead, or set any CRM status (took it or gave it back): stop the clock."""
    if isinstance(data, LeadTouched):
        at, why = data.touched_at, "touched"
    else:
        at, why = data.changed_at, data.status
    assignment = await uow.repo.open_assignment(data.lead_id)
    if assignment is None:
        return
    if assignment.stop_timer(at, why):
        # No event carries the alert's time at a touch (routing publishes nothing here), so
        # speed to lead is measured from the assignment and counted only if this commits.
        seconds = max(0.0, (at - assignment.assigned_at).total_seconds())
        uow.observe(metrics.SPEED_TO_LEAD, seconds, assignment.team)
    await uow.repo.save_assignment(assignment)


async def erase_lead(uow: RoutingUnitOfWork, event: CloudEvent, data: LeadErased) -> None:
    """Forget the person: intelligence, queued payloads, emails and connector jobs, relayed
    events."""
    await uow.repo.erase(data.lead_id)
    await uow.connectors.erase(data.lead_id)
