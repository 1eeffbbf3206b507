"""Request and response bodies of routing's HTTP API, and their translation to and from the
domain's objects."""

from __future__ import annotations

from datetime import datetime, time
from typing import Annotated, Any

from pydantic import (
    AnyHttpUrl,
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    UrlConstraints,
    field_validator,
)

from leadloop_contract.values import TimeZoneName
from leadloop_routing.domain import model
from leadloop_routing.domain.assignment import Assignment, decision_json
from leadloop_routing.domain.calendar import WorkingCalendar
from leadloop_routing.domain.delivery import Delivery, Subscription


class Absence(BaseModel):
    model_config = ConfigDict(extra="forbid")
    start: datetime
    end: datetime


# JSON Schema's "time" format is RFC 3339's full-time, which needs an offset: these are not.
WALL_CLOCK: dict[str, Any] = {
    "format": "partial-time",
    "pattern": r"^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]+)?)?$",
}


class WorkingHours(BaseModel):
    model_config = ConfigDict(extra="forbid")
    timezone: TimeZoneName = "UTC"
    start: time = Field(default=time(9, 0), json_schema_extra=WALL_CLOCK)
    end: time = Field(default=time(17, 0), json_schema_extra=WALL_CLOCK)
    workdays: list[int] = Field(default=[0, 1, 2, 3, 4], description="0 = Monday")

    @field_validator("start", "end")
    @classmethod
    def _wall_clock(cls, value: time) -> time:
        if value.tzinfo is not None:
            raise ValueError("a wall-clock time in `timezone`, without an offset (e.g. 09:00)")
        return value

    @field_validator("workdays")
    @classmethod
    def _days(cls, days: list[int]) -> list[int]:
        if not days or any(d < 0 or d > 6 for d in days):
            raise ValueError("workdays are 0 (Monday) to 6 (Sunday), at least one")
        return sorted(set(days))


class RepIn(BaseModel):
    """A rep as the API takes it."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200)
    email: EmailStr
    teams: list[Annotated[str, Field(max_length=100)]] = Field(min_length=1)
    weight: int = Field(default=1, ge=1, le=100)
    max_open_per_day: int | None = Field(default=None, ge=0, le=1_000_000)
    max_open_total: int | None = Field(default=None, ge=0, le=1_000_000)
    working_hours: WorkingHours = WorkingHours()
    out_of_office: list[Absence] = []
    manager_email: EmailStr | None = None
    active: bool = True


class RepOut(RepIn):
    rep_id: str


class AccountIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200)
    owner_rep_id: str = Field(min_length=1, max_length=100)


class SubscriptionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: Annotated[AnyHttpUrl, UrlConstraints(max_length=2048)]
    event_types: list[Annotated[str, Field(max_length=100)]] = ["leadloop.lead.assigned.v1"]
    description: str | None = Field(default=None, max_length=500)


class SubscriptionOut(BaseModel):
    subscription_id: str
    url: str
    event_types: list[str]
    description: str | None
    active: bool
    created_at: datetime
    secret: str | None = Field(default=None, description="shown once, at creation")


class DeliveryOut(BaseModel):
    delivery_id: str
    subscription_id: str
    event_id: str
    event_type: str
    lead_id: str | None
    status: str
    attempts: list[dict[str, Any]]
    next_attempt_at: datetime | None
    created_at: datetime
    delivered_at: datetime | None


def rep_of(rep_id: str, body: RepIn) -> model.Rep:
    """The domain's rep from the API's body."""
    hours = body.working_hours
    return model.Rep(
        rep_id=rep_id,
        name=body.name,
        email=str(body.email),
        teams=tuple(body.teams),
        weight=body.weight,
        max_open_per_day=body.max_open_per_day,
        max_open_total=body.max_open_total,
        calendar=WorkingCalendar(hours.timezone, hours.start, hours.end, frozenset(hours.workdays)),
        out_of_office=tuple(model.Absence(a.start, a.end) for a in body.out_of_office),
        active=body.active,
        manager_email=str(body.manager_email) if body.manager_email else None,
    )


def rep_out(rep: model.Rep) -> RepOut:
    """The API's view of a rep."""
    cal = rep.calendar
    return RepOut.model_validate(
        {
            "rep_id": rep.rep_id,
            "name": rep.name,
            "email": rep.email,
            "teams": list(rep.teams),
            "weight": rep.weight,
            "max_open_per_day": rep.max_open_per_day,
            "max_open_total": rep.max_open_total,
            "working_hours": {
                "timezone": cal.timezone,
                "start": cal.start,
                "end": cal.end,
                "workdays": sorted(cal.workdays),
            },
            "out_of_office": [{"start": a.start, "end": a.end} for a in rep.out_of_office],
            "manager_email": rep.manager_email,
            "active": rep.active,
        }
    )


def assignment_view(a: Assignment) -> dict[str, Any]:
    """An assignment as the API shows it: everything but the lead intelligence."""
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
        "captured_at": a.captured_at,
        "assigned_at": a.assigned_at,
        "sla_deadline": a.sla_deadline,
        "first_touch_at": a.first_touch_at,
        "reassignments": a.reassignments,
        "timer_due_at": a.timer_due_at,
        "timer_step": a.timer_step,
        "history": [h.to_json() for h in a.history],
    }


def subscription_out(sub: Subscription, *, with_secret: bool = False) -> SubscriptionOut:
    """The API's view of a subscription; its secret only when just created."""
    return SubscriptionOut(
        subscription_id=sub.subscription_id,
        url=sub.url,
        event_types=list(sub.event_types),
        description=sub.description,
        active=sub.active,
        created_at=sub.created_at,
        secret=sub.secret if with_secret else None,
    )


def delivery_out(d: Delivery) -> DeliveryOut:
    """The API's view of a delivery and its attempts (not its payload)."""
    return DeliveryOut(
        delivery_id=d.delivery_id,
        subscription_id=d.subscription_id,
        event_id=d.event_id,
        event_type=d.event_type,
        lead_id=d.lead_id,
        status=d.status,
        attempts=list(d.attempts),
        next_attempt_at=d.next_attempt_at,
        created_at=d.created_at,
        delivered_at=d.delivered_at,
    )
