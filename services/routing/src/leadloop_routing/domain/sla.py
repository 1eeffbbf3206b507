"""The sales side of the SLA: first touch within N working minutes, then an escalation ladder."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from leadloop_contract.agreement import Sla

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
