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

from leadloop_contract.values import ExternalIds, TimeZoneName
from leadloop_routing.domain import model
from leadloop_routing.domain.assignment import Assignment, assignment_fields
from leadloop_routing.domain.calendar import WorkingCalendar
from leadloop_routing.domain.delivery import Delivery, Subscription
from leadloop_routing.domain.fields import fields_of, from_attributes
from leadloop_routing.entrypoints import examples


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

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [examples.REP_IN]})
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
    crm_ids: ExternalIds | None = Field(
        default=None,
        description="who the rep is in each CRM: the HubSpot owner id and the Salesforce User "
        "id (15 or 18 characters); absent keeps the ones stored, {} unlinks; one rep per owner",
    )


class RepOut(RepIn):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [examples.REP_OUT]})
    rep_id: str
    crm_ids: ExternalIds = Field(default_factory=dict)
    synced_from: str | None = Field(
        default=None,
        description="the CRM whose owner sync created the rep and keeps its name, email, teams "
        "and active flag; null for a rep an admin created or last replaced (never renamed)",
    )


class AccountIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [examples.ACCOUNT_IN]})
    name: str = Field(min_length=1, max_length=200)
    owner_rep_id: str = Field(min_length=1, max_length=100)


class SubscriptionIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [examples.SUBSCRIPTION_IN]}
    )
    url: Annotated[AnyHttpUrl, UrlConstraints(max_length=2048)]
    event_types: list[Annotated[str, Field(max_length=100)]] = ["leadloop.lead.assigned.v1"]
    description: str | None = Field(default=None, max_length=500)


class SubscriptionOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [examples.SUBSCRIPTION_OUT]})
    subscription_id: str
    url: str
    event_types: list[str]
    description: str | None
    active: bool
    created_at: datetime
    secret: str | None = Field(default=None, description="shown once, at creation")


class DeliveryOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [examples.DELIVERY_OUT]})
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
    return from_attributes(
        model.Rep,
        body,
        rep_id=rep_id,
        email=str(body.email),
        teams=tuple(body.teams),
        calendar=WorkingCalendar(hours.timezone, hours.start, hours.end, frozenset(hours.workdays)),
        out_of_office=tuple(model.Absence(a.start, a.end) for a in body.out_of_office),
        manager_email=str(body.manager_email) if body.manager_email else None,
        crm_ids=dict(body.crm_ids or {}),
        synced_from=None,  # a rep an admin puts is the admin's
    )


def rep_out(rep: model.Rep) -> RepOut:
    """The API's view of a rep."""
    cal = rep.calendar
    working_hours = {
        "timezone": cal.timezone,
        "start": cal.start,
        "end": cal.end,
        "workdays": sorted(cal.workdays),
    }
    return RepOut.model_validate(
        {
            **fields_of(
                rep,
                leave_out={"calendar"},
                teams=list(rep.teams),
                out_of_office=[{"start": a.start, "end": a.end} for a in rep.out_of_office],
                crm_ids=dict(rep.crm_ids),
            ),
            "working_hours": working_hours,
        }
    )


def assignment_view(a: Assignment) -> dict[str, Any]:
    """An assignment as the API shows it: everything but the lead intelligence."""
    return assignment_fields(a, leave_out={"intelligence"})


def subscription_out(sub: Subscription, *, with_secret: bool = False) -> SubscriptionOut:
    """The API's view of a subscription; its secret only when just created."""
    return SubscriptionOut.model_validate(
        fields_of(
            sub, event_types=list(sub.event_types), secret=sub.secret if with_secret else None
        )
    )


def delivery_out(d: Delivery) -> DeliveryOut:
    """The API's view of a delivery and its attempts (not its payload)."""
    return DeliveryOut.model_validate(
        fields_of(d, leave_out={"payload"}, attempts=list(d.attempts))
    )
