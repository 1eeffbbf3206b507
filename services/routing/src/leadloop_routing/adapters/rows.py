"""Routing's rows and its domain objects, both ways: the repository's only translation."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from leadloop_events.lifecycle import LeadIntelligence
from leadloop_routing.domain.assignment import (
    Assignment,
    HistoryEntry,
    assignment_fields,
    decision_from_json,
)
from leadloop_routing.domain.calendar import WorkingCalendar
from leadloop_routing.domain.delivery import Delivery, Email, Subscription
from leadloop_routing.domain.fields import fields_of, from_attributes
from leadloop_routing.domain.model import Absence, Rep


def rep_from_row(row: Any) -> Rep:
    """A `reps` row as a `Rep`."""
    return from_attributes(
        Rep,
        row,
        teams=tuple(row.teams),
        calendar=WorkingCalendar(
            row.timezone, row.work_start, row.work_end, frozenset(row.workdays)
        ),
        out_of_office=tuple(
            Absence(datetime.fromisoformat(a["start"]), datetime.fromisoformat(a["end"]))
            for a in row.out_of_office
        ),
        crm_ids=dict(row.crm_ids),
    )


def rep_row(rep: Rep, now: datetime) -> dict[str, Any]:
    """A `Rep` as its `reps` row (the calendar in four columns)."""
    return {
        **fields_of(
            rep,
            leave_out={"calendar"},
            teams=list(rep.teams),
            out_of_office=[
                {"start": a.start.isoformat(), "end": a.end.isoformat()} for a in rep.out_of_office
            ],
            crm_ids=dict(rep.crm_ids),
        ),
        "timezone": rep.calendar.timezone,
        "work_start": rep.calendar.start,
        "work_end": rep.calendar.end,
        "workdays": sorted(rep.calendar.workdays),
        "updated_at": now,
    }


def assignment_from_row(row: Any) -> Assignment:
    """An `assignments` row as an `Assignment` (intelligence None once erased)."""
    return from_attributes(
        Assignment,
        row,
        decision=decision_from_json(row.decision),
        intelligence=(
            None if row.intelligence is None else LeadIntelligence.model_validate(row.intelligence)
        ),
        history=[HistoryEntry.from_json(h) for h in row.history],
    )


def assignment_row(a: Assignment) -> dict[str, Any]:
    """An `Assignment` as its `assignments` row."""
    return assignment_fields(
        a, intelligence=None if a.intelligence is None else a.intelligence.model_dump(mode="json")
    )


def subscription_from_row(row: Any) -> Subscription:
    """A `webhook_subscriptions` row as a `Subscription`."""
    return from_attributes(Subscription, row, event_types=tuple(row.event_types))


def subscription_row(sub: Subscription) -> dict[str, Any]:
    """A `Subscription` as its row."""
    return fields_of(sub, event_types=list(sub.event_types))


def delivery_from_row(row: Any) -> Delivery:
    """A `webhook_deliveries` row as a `Delivery`."""
    return from_attributes(Delivery, row, payload=bytes(row.payload), attempts=tuple(row.attempts))


def delivery_row(d: Delivery) -> dict[str, Any]:
    """A `Delivery` as its row."""
    return fields_of(d, attempts=list(d.attempts))


def email_from_row(row: Any) -> Email:
    """An `emails` row as an `Email`."""
    return from_attributes(Email, row, message=bytes(row.message))


def email_row(e: Email) -> dict[str, Any]:
    """An `Email` as its row."""
    return fields_of(e)
