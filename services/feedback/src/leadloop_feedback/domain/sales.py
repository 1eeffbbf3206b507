"""Feedback decides the sales side of the lifecycle: whether a CRM item may be accepted, the
move it makes (`SalesDecision`), and the event that publishes it. Pure: the caller brings the
stages, hand-offs and reason codes it read."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from leadloop_contract.lifecycle import Refused, Transition, sales_transition
from leadloop_contract.values import REJECTIONS, Stage
from leadloop_events.envelope import EventData
from leadloop_events.feedback import DealClosed, LeadStatusChanged, LeadTouched
from leadloop_feedback.domain.crm import Deal, Handoffs, Item, StatusUpdate, Touch


@dataclass(frozen=True)
class Problem:
    """Why one item cannot be accepted; `at` names the field at fault (None: the item)."""

    code: str
    message: str
    at: str | None = None

    def error(self, index: int) -> dict[str, Any]:
        """The item's entry in the problem's `errors`."""
        path = f"{index}/{self.at}" if self.at else str(index)
        return {
            "pointer": f"/items/{path}",
            "field": "items." + path.replace("/", "."),
            "code": self.code,
            "message": self.message,
        }


@dataclass(frozen=True)
class SalesDecision:
    """An accepted item and the lifecycle move feedback decided for it (None: none)."""

    item: Item
    move: Transition | None

    def event(self) -> EventData:
        """The item as its event; a status or deal carries the move decided, if any."""
        item, move = self.item, self.move
        if isinstance(item, Touch):
            return LeadTouched(**item.facts())
        decided: dict[str, Stage] = (
            {"from_stage": move.from_stage, "to_stage": move.to_stage} if move else {}
        )
        if isinstance(item, StatusUpdate):
            return LeadStatusChanged(**item.facts(), **decided)
        assert isinstance(item, Deal)
        return DealClosed(**item.facts(), **decided)


def same(item: Item, stored: dict[str, Any]) -> bool:
    """Whether the body first sent under this crm_event_id says what `item` says (the same
    values, however written: 1000 and 1000.00, an offset or UTC). An erased lead's body is
    gone: a repeat is still answered as a duplicate."""
    if stored == {"erased": True}:
        return True
    try:
        return type(item).model_validate(stored) == item
    except ValidationError:  # stored before today's rules (a time now in the future, say)
        return bool(stored == item.facts(json=True))


def reused(item: Item) -> Problem:
    """A crm_event_id sent before with another body."""
    return Problem(
        "crm_event_id_reused",
        f"crm_event_id {item.crm_event_id} was sent before with "
        "a different body: send a new id for a new fact",
        "crm_event_id",
    )


def check_handoff(item: Item, handoffs: Handoffs) -> Problem | None:
    """A touch follows a hand-off, by a rep the hand-offs named; None when it does."""
    if not isinstance(item, Touch):
        return None
    if item.lead not in handoffs.leads:
        return Problem(
            "not_assigned",
            f"lead {item.lead} was never handed to sales (no hand-off seen yet)",
        )
    if item.rep_id not in handoffs.reps:
        return Problem("unknown_rep", f"{item.rep_id} is not a rep any hand-off named", "rep_id")
    return None


def decide(
    item: Item, stages: dict[str, Stage], reasons: list[str], handoffs: Handoffs
) -> SalesDecision | Problem:
    """The move the item makes, or why it cannot be accepted. A move updates `stages`, so the
    next item of the batch is decided from the stage decided here."""
    stage = stages.get(item.lead)
    if stage is None:
        return Problem("unknown_lead", f"no lead {item.lead} (or it was erased)")
    status: str | None = None
    if isinstance(item, StatusUpdate):
        status = item.status
        if status in REJECTIONS and (item.reason_code not in reasons):
            return Problem(
                "reason_code",
                f"{status} needs a reason_code from the agreement: {', '.join(reasons)}",
            )
    elif isinstance(item, Deal):
        status = f"deal_{item.stage}"
    move = sales_transition(stage, status) if status is not None else None
    if isinstance(move, Refused):
        return Problem("impossible_transition", move.reason)
    problem = check_handoff(item, handoffs)
    if problem is not None:
        return problem
    if move is not None:
        stages[item.lead] = move.to_stage
    return SalesDecision(item, move)
