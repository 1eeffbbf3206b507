"""Routing's handlers: every SQL gets an owner and an alert; the SLA holds sales to it.

leadloop.agreement.published.v1  -> the routing and SLA sections in force
leadloop.lead.stage_changed.v1   -> (to sql) decision, assignment, lead.assigned, timer
leadloop.lead.touched.v1         -> first touch: the timer stops
leadloop.lead.status_changed.v1  -> sales took it (or gave it back): the timer stops
leadloop.lead.erased.v1          -> forget the person
(SLA worker)                     -> sla_breached, reassigned, queue
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from leadloop_contract.agreement import Agreement, ParsedAgreements, Team, stored_document
from leadloop_contract.values import CRM_STATUSES
from leadloop_events.agreement import AgreementPublished
from leadloop_events.envelope import CloudEvent, EventData
from leadloop_events.feedback import LeadStatusChanged, LeadTouched
from leadloop_events.handoff import LeadAssigned, LeadReassigned, SlaBreached
from leadloop_events.intake import LeadErased
from leadloop_events.lifecycle import LeadIntelligence, LeadStageChanged
from leadloop_routing import metrics
from leadloop_routing.adapters.uow import SqlUnitOfWork
from leadloop_routing.alerts import Outbound
from leadloop_routing.domain.calendar import WorkingCalendar
from leadloop_routing.domain.chain import LeadFacts, decide
from leadloop_routing.domain.model import Decision
from leadloop_routing.domain.sla import SlaPolicy, policy_from, step_at

Handler = Callable[[SqlUnitOfWork, CloudEvent, EventData], Awaitable[None]]
# Every CRM status says sales took the lead (or gave it back): each stops the first-touch timer.
STOPPING_STATUSES = frozenset(CRM_STATUSES)


def team_calendar(team: Team | None) -> WorkingCalendar:
    """A team's working hours (`timezone`, `hours: "09:00-17:00"`, `workdays: [0..6]`)."""
    if team is None:
        return WorkingCalendar()
    start, _, end = team.hours.partition("-")
    return WorkingCalendar(
        timezone=team.timezone,
        start=datetime.strptime(start, "%H:%M").time(),
        end=datetime.strptime(end, "%H:%M").time(),
        workdays=frozenset(team.workdays),
    )


class Routing:
    """The handlers, bound to the outbound channels."""

    def __init__(self, outbound: Outbound) -> None:
        self.outbound = outbound
        self._parsed = ParsedAgreements()

    def registry(self) -> dict[str, Handler]:
        """Message type -> handler: routing's data-flow map."""
        return {
            AgreementPublished.event_type: self.on_agreement,  # type: ignore[dict-item]
            LeadStageChanged.event_type: self.on_stage_changed,  # type: ignore[dict-item]
            LeadTouched.event_type: self.on_touched,  # type: ignore[dict-item]
            LeadStatusChanged.event_type: self.on_status_changed,  # type: ignore[dict-item]
            LeadErased.event_type: self.on_erased,  # type: ignore[dict-item]
        }

    async def agreement(self, uow: SqlUnitOfWork) -> tuple[str, Agreement]:
        current = await uow.repo.current_agreement()
        if current is None:
            raise LookupError("routing has not received an agreement yet")
        version, document = current
        return version, self._parsed.parse(version, document)

    async def on_agreement(
        self, uow: SqlUnitOfWork, event: CloudEvent, data: AgreementPublished
    ) -> None:
        await uow.repo.save_agreement(
            data.version, stored_document(data.document), data.published_at
        )

    async def on_stage_changed(
        self, uow: SqlUnitOfWork, event: CloudEvent, data: LeadStageChanged
    ) -> None:
        if data.to_stage != "sql":
            return
        if data.intelligence is None:
            raise ValueError(f"the SQL event for {data.lead_id} carries no lead intelligence")
        now = datetime.now(UTC)
        await self.assign(uow, data.lead_id, data.intelligence, event.correlationid, now)
        uow.observe(metrics.SQL_TO_ALERT, max(0.0, (now - data.changed_at).total_seconds()))

    async def assign(
        self,
        uow: SqlUnitOfWork,
        lead_id: str,
        intelligence: LeadIntelligence,
        correlation_id: str | None,
        now: datetime,
    ) -> None:
        """Route an SQL, store the decision, publish the alert, start the SLA timer."""
        version, agreement = await self.agreement(uow)
        decision = await self._decide(uow, agreement, intelligence, now, frozenset())
        policy = policy_from(agreement.sla)
        deadline = self._deadline(agreement, decision, policy, now)
        assignment_id = str(uuid.uuid4())
        rep = await uow.repo.rep(decision.rep_id) if decision.rep_id else None
        await uow.repo.insert_assignment(
            {
                "assignment_id": assignment_id,
                "lead_id": lead_id,
                "team": decision.team,
                "rep_id": decision.rep_id,
                "queue": decision.queue,
                "business": decision.business,
                "status": "open" if rep else "queued",
                "agreement_version": version,
                "decision": _decision_json(decision),
                "intelligence": intelligence.model_dump(mode="json"),
                "captured_at": intelligence.first_seen_at,
                "assigned_at": now,
                "sla_deadline": deadline,
                "timer_due_at": deadline if rep else None,
                "timer_step": 0,
                "history": [],
            }
        )
        alert = LeadAssigned(
            lead_id=lead_id,
            assignment_id=assignment_id,
            owner_rep_id=decision.rep_id,
            owner_email=rep.email if rep else None,
            team=decision.team,
            business=decision.business,
            sla_deadline=deadline,
            agreement_version=version,
            intelligence=intelligence,
            assigned_at=now,
        )
        await self.outbound.publish(uow, alert, lead_id, correlation_id, now)
        if rep is not None:
            await self.outbound.email_rep(
                uow,
                key=f"assigned:{assignment_id}:{rep.rep_id}",
                rep=rep,
                lead_id=lead_id,
                intelligence=intelligence.model_dump(mode="json"),
                deadline=deadline,
                reason="; ".join(decision.path),
                team=decision.team,
                at=now,
            )

    async def _decide(
        self,
        uow: SqlUnitOfWork,
        agreement: Agreement,
        intelligence: LeadIntelligence,
        now: datetime,
        exclude: frozenset[str],
    ) -> Decision:
        profile = intelligence.profile
        facts = LeadFacts(
            profile.email.rpartition("@")[2].lower(),
            profile.country,
            profile.company_size,
            profile.industry,
        )
        reps = await uow.repo.all_reps()
        account = await uow.repo.account(facts.email_domain)
        teams = [t.name for t in agreement.routing.teams]
        states = {team: await uow.repo.rr_state(team) for team in teams}
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

    @staticmethod
    def _deadline(
        agreement: Agreement, decision: Decision, policy: SlaPolicy, now: datetime
    ) -> datetime:
        team = next((t for t in agreement.routing.teams if t.name == decision.team), None)
        return team_calendar(team).add_working_minutes(now, policy.first_touch_minutes)

    async def on_touched(self, uow: SqlUnitOfWork, event: CloudEvent, data: LeadTouched) -> None:
        await self._stop_timer(uow, data.lead_id, data.touched_at, "touched")

    async def on_status_changed(
        self, uow: SqlUnitOfWork, event: CloudEvent, data: LeadStatusChanged
    ) -> None:
        if data.status in STOPPING_STATUSES:
            await self._stop_timer(uow, data.lead_id, data.changed_at, data.status)

    async def _stop_timer(self, uow: SqlUnitOfWork, lead_id: str, at: datetime, why: str) -> None:
        row = await uow.repo.open_assignment(lead_id)
        if row is None:
            return
        if row.first_touch_at is None:
            seconds = max(0.0, (at - row.assigned_at).total_seconds())
            uow.observe(metrics.SPEED_TO_LEAD, seconds, row.team)
        await uow.repo.update_assignment(
            row.assignment_id,
            status="touched",
            timer_due_at=None,
            first_touch_at=row.first_touch_at or at,
            history=[*row.history, {"at": at.isoformat(), "event": f"timer stopped: {why}"}],
        )

    async def on_erased(self, uow: SqlUnitOfWork, event: CloudEvent, data: LeadErased) -> None:
        await uow.repo.erase(data.lead_id)

    async def escalate(self, uow: SqlUnitOfWork, row: Any, now: datetime) -> None:
        """Take the due step of an assignment's SLA ladder."""
        _, agreement = await self.agreement(uow)
        policy = policy_from(agreement.sla)
        step = step_at(policy, row.timer_step, row.reassignments)
        breach = SlaBreached(
            lead_id=row.lead_id,
            assignment_id=row.assignment_id,
            rep_id=row.rep_id,
            team=row.team,
            deadline=row.sla_deadline,
            breached_at=now,
            step=step,
        )
        await self.outbound.publish(uow, breach, row.lead_id, None, now)
        history = [*row.history, {"at": now.isoformat(), "event": f"sla step: {step}"}]
        next_due = now + timedelta(minutes=policy.step_minutes)
        if step in ("warn", "notify_manager"):
            if step == "notify_manager":
                await self._notify_manager(uow, row, now)
            await uow.repo.update_assignment(
                row.assignment_id,
                timer_step=row.timer_step + 1,
                timer_due_at=next_due,
                history=history,
            )
            return
        intelligence = LeadIntelligence.model_validate(row.intelligence or {})
        decision = None
        if step == "reassign":
            tried = frozenset(
                [row.rep_id, *[h.get("from_rep") for h in row.history if h.get("from_rep")]]
            ) - {None}
            decision = await self._decide(uow, agreement, intelligence, now, tried)
        if decision is not None and decision.rep_id is not None:
            deadline = self._deadline(agreement, decision, policy, now)
            history.append(
                {
                    "at": now.isoformat(),
                    "event": f"reassigned to {decision.rep_id}",
                    "from_rep": row.rep_id,
                    "path": list(decision.path),
                }
            )
            await uow.repo.update_assignment(
                row.assignment_id,
                rep_id=decision.rep_id,
                reassignments=row.reassignments + 1,
                sla_deadline=deadline,
                timer_due_at=deadline,
                timer_step=0,
                history=history,
            )
            rep = await uow.repo.rep(decision.rep_id)
            if rep is not None:
                await self.outbound.email_rep(
                    uow,
                    key=f"reassigned:{row.assignment_id}:{rep.rep_id}",
                    rep=rep,
                    lead_id=row.lead_id,
                    intelligence=row.intelligence,
                    deadline=deadline,
                    reason=f"reassigned: {row.rep_id} did not follow up in time",
                    team=decision.team,
                    at=now,
                )
            to_rep = decision.rep_id
        else:
            team = next((t for t in agreement.routing.teams if t.name == row.team), None)
            queue = (team.fallback_queue if team else None) or agreement.routing.fallback_queue
            history.append({"at": now.isoformat(), "event": f"to the team queue {queue}"})
            await uow.repo.update_assignment(
                row.assignment_id,
                rep_id=None,
                queue=queue,
                status="queued",
                timer_due_at=None,
                history=history,
            )
            to_rep, deadline = None, None
        moved = LeadReassigned(
            lead_id=row.lead_id,
            assignment_id=row.assignment_id,
            from_rep_id=row.rep_id,
            to_rep_id=to_rep,
            team=row.team,
            reason=f"SLA: no first touch by {row.sla_deadline:%Y-%m-%d %H:%M} UTC",
            attempt=row.reassignments + 1,
            sla_deadline=deadline,
            reassigned_at=now,
        )
        await self.outbound.publish(uow, moved, row.lead_id, None, now)

    async def _notify_manager(self, uow: SqlUnitOfWork, row: Any, now: datetime) -> None:
        rep = await uow.repo.rep(row.rep_id) if row.rep_id else None
        if rep is None or not rep.manager_email:
            return
        manager = type(rep)(
            rep_id=f"manager-of-{rep.rep_id}",
            name=f"manager of {rep.name}",
            email=rep.manager_email,
            teams=rep.teams,
        )
        await self.outbound.email_rep(
            uow,
            key=f"manager:{row.assignment_id}:{row.reassignments}",
            rep=manager,
            lead_id=row.lead_id,
            intelligence=row.intelligence,
            deadline=row.sla_deadline,
            reason=f"SLA breached: {rep.name} has not touched this lead",
            team=row.team,
            at=now,
        )


def _decision_json(decision: Decision) -> dict[str, Any]:
    return {
        "team": decision.team,
        "business": decision.business,
        "rep_id": decision.rep_id,
        "queue": decision.queue,
        "path": list(decision.path),
        "skipped": [{"rep_id": s.rep_id, "reason": s.reason} for s in decision.skipped],
    }
