"""The SLA through routing's handlers: escalate_due_leads climbs the ladder (warn, notify the
manager, reassign, queue); a touch or any CRM status stops the clock first."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from leadloop_events.feedback import LeadStatusChanged, LeadTouched
from leadloop_events.intake import LeadErased
from leadloop_routing import metrics
from leadloop_routing.domain.commands import EscalateDueLeads
from leadloop_routing.handlers import escalate_due_leads

from ...factories import stage_changed
from .support import OUTBOUND, Routing, rep

BREACHED = "leadloop.lead.sla_breached.v1"
MOVED = "leadloop.lead.reassigned.v1"


async def escalate(routing: Routing, now: datetime) -> int:
    """One round of the SLA worker at `now`."""
    command = EscalateDueLeads(now, 100)
    return await routing.transactions.run(escalate_due_leads, command, outbound=OUTBOUND)


async def assigned(routing: Routing, lead_id: str) -> datetime:
    """Hand `lead_id` over as an SQL; its first-touch deadline."""
    await routing.send(stage_changed(lead_id))
    return (await routing.repo.assignments_of(lead_id))[0].sla_deadline


async def climb(routing: Routing, lead_id: str, steps: int) -> list[int]:
    """Run the SLA worker just after each next due step of `lead_id` (or a day later)."""
    fired = []
    for _ in range(steps):
        due = (await routing.repo.assignments_of(lead_id))[0].timer_due_at
        moment = (due or datetime.now(UTC) + timedelta(days=1)) + timedelta(seconds=1)
        fired.append(await escalate(routing, moment))
    return fired


async def test_the_ladder_warns_notifies_the_manager_reassigns_then_queues() -> None:
    routing = Routing()
    await routing.start(rep("rep-alice", weight=2), rep("rep-bob"))
    deadline = await assigned(routing, "lead-GLOBEX")
    assert await escalate(routing, deadline - timedelta(seconds=1)) == 0  # not due yet
    assert await climb(routing, "lead-GLOBEX", 6) == [1] * 6
    steps = [b["step"] for b in routing.uow.sent(BREACHED)]
    assert steps == ["warn", "notify_manager", "reassign", "warn", "notify_manager", "reassign"]
    first, second = routing.uow.sent(MOVED)
    assert (first["from_rep_id"], first["to_rep_id"], first["attempt"]) == (
        "rep-alice",
        "rep-bob",
        1,
    )
    assert (first["owner_name"], second["owner_name"]) == ("Bob", None)
    # Both reps tried: nobody is left, the lead waits in the queue and its clock stops.
    assert (second["from_rep_id"], second["to_rep_id"], second["sla_deadline"]) == (
        "rep-bob",
        None,
        None,
    )
    final = (await routing.repo.assignments_of("lead-GLOBEX"))[0]
    assert (final.status, final.queue, final.rep_id, final.timer_due_at) == (
        "queued",
        "sdr-queue",
        None,
        None,
    )
    assert final.reassignments == 1
    assert [h.event for h in final.history][-2:] == [
        "sla step: reassign",
        "to the team queue sdr-queue",
    ]
    assert await escalate(routing, deadline + timedelta(days=30)) == 0
    keys = sorted(k.split(":")[0] for k in routing.repo.emails)
    assert keys == ["assigned", "manager", "manager", "reassigned"]


async def test_out_of_reassignments_the_lead_goes_straight_to_the_queue() -> None:
    routing = Routing()
    await routing.start(rep("rep-alice"), rep("rep-bob"), rep("rep-dana"))
    await assigned(routing, "lead-INITECH")
    # Two ladders end in a reassignment each; the third one's reassign step is the queue.
    assert await climb(routing, "lead-INITECH", 3 * 3 + 1) == [1] * 9 + [0]
    steps = [b["step"] for b in routing.uow.sent(BREACHED)]
    assert steps[-1] == "queue" and steps.count("reassign") == 2
    final = (await routing.repo.assignments_of("lead-INITECH"))[0]
    assert final.status == "queued" and final.reassignments == 2


async def test_an_erased_lead_is_queued_instead_of_reassigned() -> None:
    routing = Routing()
    await routing.start(rep("rep-alice"), rep("rep-bob"))
    await assigned(routing, "lead-ERASED")
    await routing.send(LeadErased(lead_id="lead-ERASED", erased_at=datetime.now(UTC)))
    assert await climb(routing, "lead-ERASED", 3) == [1, 1, 1]
    moved = routing.uow.sent(MOVED)
    assert [m["to_rep_id"] for m in moved] == [None]
    assert (await routing.repo.assignments_of("lead-ERASED"))[0].intelligence is None


async def test_a_touch_stops_the_timer_and_measures_speed_to_lead_once() -> None:
    routing = Routing()
    await routing.start(rep("rep-alice"))
    deadline = await assigned(routing, "lead-INITECH")
    touch = LeadTouched(
        lead_id="lead-INITECH",
        crm_event_id="crm-touch-1",
        rep_id="rep-alice",
        channel="call",
        outcome="connected",
        touched_at=datetime.now(UTC),
    )
    await routing.send(touch)
    await routing.send(touch.model_copy(update={"crm_event_id": "crm-touch-2"}))
    stored = (await routing.repo.assignments_of("lead-INITECH"))[0]
    assert (stored.status, stored.timer_due_at) == ("touched", None)
    assert stored.first_touch_at == touch.touched_at
    assert stored.history[-1].event == "timer stopped: touched"
    speed = [labels for h, labels, _ in routing.uow.measured if h is metrics.SPEED_TO_LEAD]
    assert speed == [("dach",)]
    assert await escalate(routing, deadline + timedelta(days=30)) == 0


async def test_any_crm_status_stops_the_timer() -> None:
    routing = Routing()
    await routing.start(rep("rep-alice"))
    deadline = await assigned(routing, "lead-HOOLI")
    status = LeadStatusChanged(
        lead_id="lead-HOOLI",
        crm_event_id="crm-status-1",
        status="rejected",
        reason_code="bad_fit",
        changed_at=datetime.now(UTC),
    )
    await routing.send(status)
    stored = (await routing.repo.assignments_of("lead-HOOLI"))[0]
    assert stored.timer_due_at is None and stored.history[-1].event == "timer stopped: rejected"
    assert await escalate(routing, deadline + timedelta(days=30)) == 0


async def test_a_touch_for_a_lead_without_assignment_changes_nothing() -> None:
    routing = Routing()
    await routing.start(rep("rep-alice"))
    touch = LeadTouched(
        lead_id="lead-UNKNOWN",
        crm_event_id="crm-touch-1",
        rep_id="rep-alice",
        channel="email",
        outcome="attempted",
        touched_at=datetime.now(UTC),
    )
    await routing.send(touch)
    assert not routing.repo.assignments and not routing.uow.measured


async def test_a_round_locks_the_teams_in_sorted_order_before_it_claims_due_leads() -> None:
    routing = Routing()
    await routing.start(rep("rep-alice"))
    routing.repo.calls.clear()
    assert await escalate(routing, datetime.now(UTC)) == 0
    # The order a consumer batch takes them in: neither can wait for the other's.
    teams = "dach enterprise nordics north-america uk-ireland"
    assert routing.repo.calls == [f"lock {teams}", "claim due"]
