"""CRM in: touches, status updates and deals, validated against what the loop knows, made
idempotent by the CRM's own event id, and published on leads.feedback."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.dialects.postgresql import insert

from leadloop_events import topics
from leadloop_events.envelope import EventData, new_event
from leadloop_events.feedback import DealClosed, LeadStatusChanged, LeadTouched
from leadloop_feedback.adapters.tables import agreements, crm_requests, leads
from leadloop_feedback.adapters.uow import SqlUnitOfWork
from leadloop_scoring.domain.agreement import Agreement
from leadloop_scoring.domain.lifecycle import Refused, sales_transition

SOURCE = "/leadloop/feedback"
CrmId = Annotated[str, Field(min_length=1, max_length=200)]
LeadId = Annotated[str, Field(min_length=1, max_length=64)]


class Item(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    crm_event_id: CrmId
    lead_id: LeadId


class Touch(Item):
    rep_id: Annotated[str, Field(min_length=1, max_length=100)]
    channel: Literal["email", "call", "meeting", "social"]
    outcome: Literal["attempted", "connected", "meeting_booked"]
    touched_at: datetime


class StatusUpdate(Item):
    status: Literal[
        "accepted", "working", "rejected", "unqualified", "recycled", "disqualified", "opportunity"
    ]
    reason_code: Annotated[str, Field(max_length=100)] | None = None
    note: Annotated[str, Field(max_length=2000)] | None = None
    rep_id: Annotated[str, Field(max_length=100)] | None = None
    changed_at: datetime


class Deal(Item):
    deal_id: CrmId
    stage: Literal["created", "won", "lost"]
    amount: Decimal = Field(ge=0, max_digits=16, decimal_places=2)
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")]
    products: list[Annotated[str, Field(max_length=200)]] = []
    recurring: bool = False
    reason: Annotated[str, Field(max_length=2000)] | None = None
    closed_at: datetime


@dataclass
class Outcome:
    accepted: list[dict[str, Any]] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)


class CrmRefused(ValueError):
    """Items refused: unknown leads (404) or impossible transitions (409); nothing was written."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__(f"{len(errors)} item(s) refused")
        self.errors = errors
        self.status = 409 if all(e["code"] != "unknown_lead" for e in errors) else 422


def _event(kind: str, item: Item) -> EventData:
    if isinstance(item, Touch):
        return LeadTouched(**item.model_dump())
    if isinstance(item, StatusUpdate):
        return LeadStatusChanged(**item.model_dump())
    assert isinstance(item, Deal)
    return DealClosed(**item.model_dump())


async def record(uow: SqlUnitOfWork, kind: str, items: list[Item], now: datetime) -> Outcome:
    """All items of a batch are accepted together or refused together."""
    outcome = Outcome()
    stages = await _stages(uow, [i.lead_id for i in items])
    reasons = await _rejection_reasons(uow)
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
                    sa.select(crm_requests.c.event_id).where(
                        crm_requests.c.kind == kind,
                        crm_requests.c.crm_event_id == item.crm_event_id,
                    )
                )
            ).scalar_one()
            outcome.accepted.append(
                {"crm_event_id": item.crm_event_id, "event_id": previous, "duplicate": True}
            )
            continue
        problem = _check(item, stages, reasons)
        if problem is not None:
            outcome.errors.append(
                {"pointer": f"/items/{index}", "field": f"items.{index}", **problem}
            )
            continue
        event = new_event(_event(kind, item), source=SOURCE, subject=item.lead_id, time=now)
        uow.publish(topics.FEEDBACK, event)
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


def _check(item: Item, stages: dict[str, str], reasons: list[str]) -> dict[str, Any] | None:
    """Why the item cannot be accepted, or None. Updates `stages` for later items."""
    stage = stages.get(item.lead_id)
    if stage is None:
        return {"code": "unknown_lead", "message": f"no lead {item.lead_id} (or it was erased)"}
    status: str | None = None
    if isinstance(item, StatusUpdate):
        status = item.status
        if status in ("rejected", "unqualified", "disqualified") and (
            item.reason_code not in reasons
        ):
            return {
                "code": "reason_code",
                "message": f"{status} needs a reason_code from the agreement: {', '.join(reasons)}",
            }
    elif isinstance(item, Deal):
        status = f"deal_{item.stage}"
    if status is None:
        return None
    move = sales_transition(stage, status)  # type: ignore[arg-type]
    if isinstance(move, Refused):
        return {"code": "impossible_transition", "message": move.reason}
    if move is not None:
        stages[item.lead_id] = move.to_stage
    return None


async def _stages(uow: SqlUnitOfWork, lead_ids: list[str]) -> dict[str, str]:
    rows = await uow.conn.execute(
        sa.select(leads.c.lead_id, leads.c.stage).where(
            leads.c.lead_id.in_(set(lead_ids)), leads.c.erased.is_(False)
        )
    )
    return {r.lead_id: r.stage for r in rows}


async def _rejection_reasons(uow: SqlUnitOfWork) -> list[str]:
    row = (
        await uow.conn.execute(
            sa.select(agreements.c.document).order_by(agreements.c.published_at.desc()).limit(1)
        )
    ).first()
    document = dict(row.document) if row else {}
    reasons: list[str] = Agreement.model_fields["rejection_reasons"].get_default(
        call_default_factory=True
    )
    return list(document.get("rejection_reasons", reasons))
