"""CRM in: touches, status updates and deals, validated against what the loop knows, made
idempotent by the CRM's own event id, and published on leads.feedback.

Feedback decides the sales side of the lifecycle: a status or deal that moves the lead is
checked against the lead's stage here, refused (409) when the lifecycle does not allow it, and
otherwise published with the move it makes (`from_stage`, `to_stage`) for scoring to apply.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, cast

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy.dialects.postgresql import insert

from leadloop_contract.agreement import rejection_reasons
from leadloop_contract.lifecycle import Refused, Transition, sales_transition
from leadloop_contract.values import (
    REJECTIONS,
    CrmStatus,
    DealStage,
    Stage,
    TouchChannel,
    TouchOutcome,
)
from leadloop_events import topics
from leadloop_events.envelope import EventData, new_event
from leadloop_events.feedback import DealClosed, LeadStatusChanged, LeadTouched
from leadloop_events.instant import PastInstant
from leadloop_events.money import CurrencyCode
from leadloop_feedback.adapters.tables import agreements, assignments, crm_requests, leads, reps
from leadloop_feedback.adapters.uow import SqlUnitOfWork

SOURCE = "/leadloop/feedback"
CrmId = Annotated[str, Field(min_length=1, max_length=200)]
LeadId = Annotated[str, Field(min_length=1, max_length=64)]


class Item(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    crm_event_id: CrmId
    lead_id: LeadId


class Touch(Item):
    rep_id: Annotated[str, Field(min_length=1, max_length=100)]
    channel: TouchChannel
    outcome: TouchOutcome
    touched_at: PastInstant


class StatusUpdate(Item):
    status: CrmStatus
    reason_code: Annotated[str, Field(max_length=100)] | None = None
    note: Annotated[str, Field(max_length=2000)] | None = None
    rep_id: Annotated[str, Field(max_length=100)] | None = None
    changed_at: PastInstant


class Deal(Item):
    deal_id: CrmId
    stage: DealStage
    amount: Decimal = Field(ge=0, max_digits=16, decimal_places=2)
    currency: CurrencyCode
    products: list[Annotated[str, Field(max_length=200)]] = []
    recurring: bool = False
    reason: Annotated[str, Field(max_length=2000)] | None = None
    closed_at: PastInstant


@dataclass
class Outcome:
    accepted: list[dict[str, Any]] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)


UNKNOWN = ("unknown_lead", "not_assigned", "unknown_rep")
"""Codes of items naming what the loop does not know (422); the others conflict (409)."""


class CrmRefused(ValueError):
    """Items refused: unknown leads or reps (422), impossible transitions or a reused
    crm_event_id (409); nothing was written."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__(f"{len(errors)} item(s) refused")
        self.errors = errors
        self.status = 422 if any(e["code"] in UNKNOWN for e in errors) else 409

    @property
    def kind(self) -> str:
        """The problem type: the first error's code of the status answered."""
        first: str = next(
            e["code"] for e in self.errors if (e["code"] in UNKNOWN) == (self.status == 422)
        )
        return {"reason_code": "impossible_transition"}.get(first, first).replace("_", "-")


def _event(item: Item, move: Transition | None) -> EventData:
    """The item as its event; a status or deal carries the move feedback decided, if any."""
    if isinstance(item, Touch):
        return LeadTouched(**item.model_dump())
    decided: dict[str, Stage] = (
        {"from_stage": move.from_stage, "to_stage": move.to_stage} if move else {}
    )
    if isinstance(item, StatusUpdate):
        return LeadStatusChanged(**item.model_dump(), **decided)
    assert isinstance(item, Deal)
    return DealClosed(**item.model_dump(), **decided)


async def record(uow: SqlUnitOfWork, kind: str, items: list[Item], now: datetime) -> Outcome:
    """All items of a batch are accepted together or refused together."""
    outcome = Outcome()
    stages = await _stages(uow, [i.lead_id for i in items])
    reasons = await _rejection_reasons(uow)
    handoffs = await _handoffs(uow, items)
    for index, item in enumerate(items):
        claimed = await uow.conn.execute(
            insert(crm_requests)
            .values(
                kind=kind,
                crm_event_id=item.crm_event_id,
                event_id="pending",
                lead_id=item.lead_id,
                received_at=now,
                body=item.model_dump(mode="json"),
            )
            .on_conflict_do_nothing()
            .returning(crm_requests.c.crm_event_id)
        )
        if claimed.first() is None:
            previous = (
                await uow.conn.execute(
                    sa.select(crm_requests.c.event_id, crm_requests.c.body).where(
                        crm_requests.c.kind == kind,
                        crm_requests.c.crm_event_id == item.crm_event_id,
                    )
                )
            ).one()
            if not _same(item, previous.body):
                outcome.errors.append(
                    {
                        "pointer": f"/items/{index}/crm_event_id",
                        "field": f"items.{index}.crm_event_id",
                        "code": "crm_event_id_reused",
                        "message": f"crm_event_id {item.crm_event_id} was sent before with "
                        "a different body: send a new id for a new fact",
                    }
                )
                continue
            outcome.accepted.append(
                {
                    "crm_event_id": item.crm_event_id,
                    "event_id": previous.event_id,
                    "duplicate": True,
                }
            )
            continue
        decision = _check(item, stages, reasons)
        problem = decision if isinstance(decision, dict) else _check_handoff(item, index, handoffs)
        if problem is not None:
            outcome.errors.append(
                {"pointer": f"/items/{index}", "field": f"items.{index}", **problem}
            )
            continue
        move = decision if isinstance(decision, Transition) else None
        event = new_event(_event(item, move), source=SOURCE, subject=item.lead_id, time=now)
        uow.publish(topics.FEEDBACK, event)
        if move is not None:
            await _decided(uow, item.lead_id, move.to_stage, now)
        await uow.conn.execute(
            crm_requests.update()
            .where(crm_requests.c.kind == kind, crm_requests.c.crm_event_id == item.crm_event_id)
            .values(event_id=event.id)
        )
        outcome.accepted.append(
            {"crm_event_id": item.crm_event_id, "event_id": event.id, "duplicate": False}
        )
    if outcome.errors:
        raise CrmRefused(outcome.errors)
    return outcome


def _same(item: Item, stored: dict[str, Any]) -> bool:
    """Whether the body first sent under this crm_event_id says what `item` says (the same
    values, however written: 1000 and 1000.00, an offset or UTC). An erased lead's body is
    gone: a repeat is still answered as a duplicate."""
    if stored == {"erased": True}:
        return True
    try:
        return type(item).model_validate(stored) == item
    except ValidationError:  # stored before today's rules (a time now in the future, say)
        return bool(stored == item.model_dump(mode="json"))


@dataclass(frozen=True)
class Handoffs:
    """What leads.handoff told feedback: the leads handed to sales and the reps it named."""

    leads: set[str]
    reps: set[str]


async def _handoffs(uow: SqlUnitOfWork, items: list[Item]) -> Handoffs:
    touches = [i for i in items if isinstance(i, Touch)]
    if not touches:
        return Handoffs(set(), set())
    lead_ids = {t.lead_id for t in touches}
    rep_ids = {t.rep_id for t in touches}
    handed = await uow.conn.execute(
        sa.select(assignments.c.lead_id).where(assignments.c.lead_id.in_(lead_ids))
    )
    known = await uow.conn.execute(sa.select(reps.c.rep_id).where(reps.c.rep_id.in_(rep_ids)))
    return Handoffs({r.lead_id for r in handed}, {r.rep_id for r in known})


def _check_handoff(item: Item, index: int, handoffs: Handoffs) -> dict[str, Any] | None:
    """A touch follows a hand-off, by a rep the hand-offs named; None when it does."""
    if not isinstance(item, Touch):
        return None
    if item.lead_id not in handoffs.leads:
        return {
            "code": "not_assigned",
            "message": f"lead {item.lead_id} was never handed to sales (no hand-off seen yet)",
        }
    if item.rep_id not in handoffs.reps:
        return {
            "pointer": f"/items/{index}/rep_id",
            "field": f"items.{index}.rep_id",
            "code": "unknown_rep",
            "message": f"{item.rep_id} is not a rep any hand-off named",
        }
    return None


def _check(
    item: Item, stages: dict[str, Stage], reasons: list[str]
) -> dict[str, Any] | Transition | None:
    """Why the item cannot be accepted, else the move it makes (None: none). Updates `stages`
    for later items."""
    stage = stages.get(item.lead_id)
    if stage is None:
        return {"code": "unknown_lead", "message": f"no lead {item.lead_id} (or it was erased)"}
    status: str | None = None
    if isinstance(item, StatusUpdate):
        status = item.status
        if status in REJECTIONS and (item.reason_code not in reasons):
            return {
                "code": "reason_code",
                "message": f"{status} needs a reason_code from the agreement: {', '.join(reasons)}",
            }
    elif isinstance(item, Deal):
        status = f"deal_{item.stage}"
    if status is None:
        return None
    move = sales_transition(stage, status)
    if isinstance(move, Refused):
        return {"code": "impossible_transition", "message": move.reason}
    if move is not None:
        stages[item.lead_id] = move.to_stage
    return move


async def _decided(uow: SqlUnitOfWork, lead_id: str, stage: Stage, now: datetime) -> None:
    """Keep the stage feedback decided, so the next CRM call is checked from there (scoring's
    stage_changed, when it comes back, says the same)."""
    await uow.conn.execute(
        leads.update().where(leads.c.lead_id == lead_id).values(stage=stage, updated_at=now)
    )


async def _stages(uow: SqlUnitOfWork, lead_ids: list[str]) -> dict[str, Stage]:
    rows = await uow.conn.execute(
        sa.select(leads.c.lead_id, leads.c.stage).where(
            leads.c.lead_id.in_(set(lead_ids)), leads.c.erased.is_(False)
        )
    )
    return {r.lead_id: cast(Stage, r.stage) for r in rows}


async def _rejection_reasons(uow: SqlUnitOfWork) -> list[str]:
    row = (
        await uow.conn.execute(
            sa.select(agreements.c.document).order_by(agreements.c.published_at.desc()).limit(1)
        )
    ).first()
    return rejection_reasons(dict(row.document) if row else None)
