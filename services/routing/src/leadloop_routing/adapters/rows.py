"""Routing's rows and its domain objects, both ways: the repository's only translation."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from leadloop_events.lifecycle import LeadIntelligence
from leadloop_routing.domain.assignment import (
    Assignment,
    HistoryEntry,
    decision_from_json,
    decision_json,
)
from leadloop_routing.domain.calendar import WorkingCalendar
from leadloop_routing.domain.delivery import Delivery, Email, Subscription
from leadloop_routing.domain.model import Absence, Rep


def rep_from_row(row: Any) -> Rep:
    """A `reps` row as a `Rep`."""
    return Rep(
        rep_id=row.rep_id,
        name=row.name,
        email=row.email,
        teams=tuple(row.teams),
        weight=row.weight,
        max_open_per_day=row.max_open_per_day,
        max_open_total=row.max_open_total,
        calendar=WorkingCalendar(
            row.timezone, row.work_start, row.work_end, frozenset(row.workdays)
        ),
        out_of_office=tuple(
            Absence(datetime.fromisoformat(a["start"]), datetime.fromisoformat(a["end"]))
            for a in row.out_of_office
        ),
        active=row.active,
        manager_email=row.manager_email,
    )


def rep_row(rep: Rep, now: datetime) -> dict[str, Any]:
    """A `Rep` as its `reps` row."""
    return {
        "rep_id": rep.rep_id,
        "name": rep.name,
        "email": rep.email,
        "teams": list(rep.teams),
        "weight": rep.weight,
        "max_open_per_day": rep.max_open_per_day,
        "max_open_total": rep.max_open_total,
        "timezone": rep.calendar.timezone,
        "work_start": rep.calendar.start,
        "work_end": rep.calendar.end,
        "workdays": sorted(rep.calendar.workdays),
        "out_of_office": [
            {"start": a.start.isoformat(), "end": a.end.isoformat()} for a in rep.out_of_office
        ],
        "manager_email": rep.manager_email,
        "active": rep.active,
        "updated_at": now,
    }


def assignment_from_row(row: Any) -> Assignment:
    """An `assignments` row as an `Assignment` (intelligence None once erased)."""
    return Assignment(
        assignment_id=row.assignment_id,
        lead_id=row.lead_id,
        team=row.team,
        rep_id=row.rep_id,
        queue=row.queue,
        business=row.business,
        status=row.status,
        agreement_version=row.agreement_version,
        decision=decision_from_json(row.decision),
        intelligence=(
            None if row.intelligence is None else LeadIntelligence.model_validate(row.intelligence)
        ),
        captured_at=row.captured_at,
        assigned_at=row.assigned_at,
        sla_deadline=row.sla_deadline,
        first_touch_at=row.first_touch_at,
        reassignments=row.reassignments,
        timer_due_at=row.timer_due_at,
        timer_step=row.timer_step,
        history=[HistoryEntry.from_json(h) for h in row.history],
    )


def assignment_row(a: Assignment) -> dict[str, Any]:
    """An `Assignment` as its `assignments` row."""
    return {
        "assignment_id": a.assignment_id,
        "lead_id": a.lead_id,
        "team": a.team,
        "rep_id": a.rep_id,
        "queue": a.queue,
        "business": a.business,
        "status": a.status,
        "agreement_version": a.agreement_version,
        "decision": decision_json(a.decision),
        "intelligence": None if a.intelligence is None else a.intelligence.model_dump(mode="json"),
        "captured_at": a.captured_at,
        "assigned_at": a.assigned_at,
        "sla_deadline": a.sla_deadline,
        "first_touch_at": a.first_touch_at,
        "reassignments": a.reassignments,
        "timer_due_at": a.timer_due_at,
        "timer_step": a.timer_step,
        "history": [h.to_json() for h in a.history],
    }


def subscription_from_row(row: Any) -> Subscription:
    """A `webhook_subscriptions` row as a `Subscription`."""
    return Subscription(
        subscription_id=row.subscription_id,
        url=row.url,
        secret=row.secret,
        event_types=tuple(row.event_types),
        description=row.description,
        active=row.active,
        created_at=row.created_at,
    )


def subscription_row(sub: Subscription) -> dict[str, Any]:
    """A `Subscription` as its row."""
    return {
        "subscription_id": sub.subscription_id,
        "url": sub.url,
        "secret": sub.secret,
        "event_types": list(sub.event_types),
        "description": sub.description,
        "active": sub.active,
        "created_at": sub.created_at,
    }


def delivery_from_row(row: Any) -> Delivery:
    """A `webhook_deliveries` row as a `Delivery`."""
    return Delivery(
        delivery_id=row.delivery_id,
        subscription_id=row.subscription_id,
        event_id=row.event_id,
        event_type=row.event_type,
        lead_id=row.lead_id,
        payload=bytes(row.payload),
        status=row.status,
        attempts=tuple(row.attempts),
        next_attempt_at=row.next_attempt_at,
        created_at=row.created_at,
        delivered_at=row.delivered_at,
    )


def delivery_row(d: Delivery) -> dict[str, Any]:
    """A `Delivery` as its row."""
    return {
        "delivery_id": d.delivery_id,
        "subscription_id": d.subscription_id,
        "event_id": d.event_id,
        "event_type": d.event_type,
        "lead_id": d.lead_id,
        "payload": d.payload,
        "status": d.status,
        "attempts": list(d.attempts),
        "next_attempt_at": d.next_attempt_at,
        "created_at": d.created_at,
        "delivered_at": d.delivered_at,
    }


def email_from_row(row: Any) -> Email:
    """An `emails` row as an `Email`."""
    return Email(
        email_id=row.email_id,
        dedupe_key=row.dedupe_key,
        lead_id=row.lead_id,
        recipient=row.recipient,
        message=bytes(row.message),
        status=row.status,
        next_attempt_at=row.next_attempt_at,
        created_at=row.created_at,
        attempts=row.attempts,
        last_error=row.last_error,
        sent_at=row.sent_at,
    )


def email_row(e: Email) -> dict[str, Any]:
    """An `Email` as its row."""
    return {
        "email_id": e.email_id,
        "dedupe_key": e.dedupe_key,
        "lead_id": e.lead_id,
        "recipient": e.recipient,
        "message": e.message,
        "status": e.status,
        "attempts": e.attempts,
        "last_error": e.last_error,
        "next_attempt_at": e.next_attempt_at,
        "created_at": e.created_at,
        "sent_at": e.sent_at,
    }
