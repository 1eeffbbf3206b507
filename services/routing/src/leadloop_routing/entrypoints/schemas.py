"""Request and response bodies of routing's HTTP API."""

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
