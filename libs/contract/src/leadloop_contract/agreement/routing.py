"""The agreement's routing and SLA sections: teams, territories, working hours and what each
side promises (routing and feedback read them)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictStr, model_validator

from leadloop_contract.values import TimeZoneName

Number = Annotated[float, Field(strict=True)]
"""A number where the agreement means one: an int or a float, never text or a boolean."""
Text = StrictStr
"""Text where the agreement means text: YAML 1.1 reads a bare NO, yes, on, off as booleans and
010 as the number 8, and these are refused with their path rather than compared as text."""


class Strict(BaseModel):
    """A section of the agreement: unknown keys refused, values frozen, no NaN or infinity."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class Range(Strict):
    min: Number | None = None
    max: Number | None = None


class Team(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True, allow_inf_nan=False)

    name: Text
    countries: list[Text] = Field(default_factory=list)
    regions: list[Text] = Field(default_factory=list)
    company_size: Range | None = None
    industries: list[Text] = Field(default_factory=list)
    fallback_queue: Text | None = None
    timezone: Annotated[TimeZoneName, Field(strict=True)] = "UTC"
    hours: Text = Field(default="09:00-17:00", pattern=r"^\d{2}:\d{2}-\d{2}:\d{2}$")
    workdays: list[Annotated[int, Field(strict=True)]] = Field(
        default=[0, 1, 2, 3, 4], description="0 = Monday"
    )

    @model_validator(mode="after")
    def _hours(self) -> Team:
        start, _, end = self.hours.partition("-")
        if not ("00:00" <= start < end <= "23:59"):
            raise ValueError(f"hours {self.hours!r}: the day must start before it ends")
        if not self.workdays or any(d < 0 or d > 6 for d in self.workdays):
            raise ValueError("workdays are 0 (Monday) to 6 (Sunday), at least one")
        return self


class Routing(BaseModel):
    """Teams, territories and segments (used by the routing service)."""

    model_config = ConfigDict(extra="allow", frozen=True, allow_inf_nan=False)

    teams: list[Team] = Field(default_factory=list)
    fallback_queue: Text = "unassigned"


class Sla(BaseModel):
    """What each side promises (used by routing and feedback)."""

    model_config = ConfigDict(extra="allow", frozen=True, allow_inf_nan=False)

    first_touch_minutes: int = Field(default=60, ge=1, le=527_040)  # a year at most
    escalation: list[Literal["warn", "notify_manager", "reassign", "queue"]] = Field(
        default=["warn", "notify_manager", "reassign"]
    )
    escalation_step_minutes: int = Field(default=15, ge=1, le=527_040)
    max_reassignments: int = Field(default=2, ge=0, le=100)
    attempts: int = 6
    attempt_days: int = 10
    mql_target_per_month: int | None = None
    sql_target_per_month: int | None = None
