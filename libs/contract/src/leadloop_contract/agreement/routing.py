"""The agreement's routing and SLA sections: teams, territories, working hours and what each
side promises (routing and feedback read them)."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictStr, field_validator, model_validator

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


SLACK_CHANNEL_ID = r"^[CG][A-Z0-9]{8,20}$"
"""A Slack conversation id: C… for a public channel, G… for an older private one
(https://docs.slack.dev/reference/objects/conversation-object)."""


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
    slack_channel: Text | None = Field(
        default=None,
        description="the Slack channel that also gets the team's lead alerts, by its id "
        "(channel details: 'Channel ID', e.g. C0123456789); the bot must be a member",
        json_schema_extra={"pattern": SLACK_CHANNEL_ID},
        # Left out of the document while unset, so an agreement without one keeps its
        # document and checksum (a version published before this field is the same after it).
        exclude_if=lambda value: value is None,
    )

    @field_validator("slack_channel")
    @classmethod
    def _slack_channel(cls, value: str | None) -> str | None:
        # An id, not a #name: names change, and finding an alert already posted (so a retry
        # never posts twice) reads the channel's history, which Slack serves by id only.
        if value is not None and not re.fullmatch(SLACK_CHANNEL_ID, value):
            hint = " (a #name is not enough: use the channel's id)" if value[:1] == "#" else ""
            raise ValueError(
                f"slack_channel {value!r} is not a Slack channel id like C0123456789{hint}"
            )
        return value

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
