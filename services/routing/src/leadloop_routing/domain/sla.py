"""The sales side of the SLA: first touch within N working minutes, then an escalation ladder."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from leadloop_contract.agreement import Agreement, Sla, Team
from leadloop_routing.domain.calendar import WorkingCalendar

Step = Literal["warn", "notify_manager", "reassign", "queue"]
DEFAULT_LADDER: tuple[Step, ...] = ("warn", "notify_manager", "reassign")


@dataclass(frozen=True)
class SlaPolicy:
    """What the agreement's `sla` section says about following up."""

    first_touch_minutes: int = 60
    ladder: tuple[Step, ...] = DEFAULT_LADDER
    step_minutes: int = 15
    max_reassignments: int = 2


def policy_from(sla: Sla) -> SlaPolicy:
    """Read the SLA section (`escalation`, `escalation_step_minutes`, `max_reassignments`)."""
    return SlaPolicy(
        first_touch_minutes=sla.first_touch_minutes,
        ladder=tuple(sla.escalation),
        step_minutes=sla.escalation_step_minutes,
        max_reassignments=sla.max_reassignments,
    )


def step_at(policy: SlaPolicy, index: int, reassignments: int) -> Step:
    """The escalation to take at ladder position `index`: past the end, or out of
    reassignments, the lead goes to the team queue."""
    if index >= len(policy.ladder):
        return "queue"
    step = policy.ladder[index]
    if step == "reassign" and reassignments >= policy.max_reassignments:
        return "queue"
    return step


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


def team_of(agreement: Agreement, name: str) -> Team | None:
    """The agreement's team of this name (None for "unassigned" or an account owner's team)."""
    return next((t for t in agreement.routing.teams if t.name == name), None)


def first_touch_deadline(agreement: Agreement, team: str, now: datetime) -> datetime:
    """When the first touch is due: the SLA's minutes counted in the team's working time."""
    minutes = policy_from(agreement.sla).first_touch_minutes
    return team_calendar(team_of(agreement, team)).add_working_minutes(now, minutes)


def queue_of(agreement: Agreement, team: str) -> str:
    """Where a lead nobody can take waits: the team's fallback queue, else the global one."""
    found = team_of(agreement, team)
    return (found.fallback_queue if found else None) or agreement.routing.fallback_queue
