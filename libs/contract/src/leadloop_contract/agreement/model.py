"""The agreement both teams sign: a versioned YAML document, validated by these models.

python -m leadloop_contract.agreement --schema   # regenerate agreement.schema.json
"""

from __future__ import annotations

from datetime import date
from functools import cache
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    Field,
    TypeAdapter,
    ValidationInfo,
    field_validator,
    model_validator,
)

from leadloop_contract.agreement.crm import CrmMapping
from leadloop_contract.agreement.patterns import PatternRefused, compile_pattern
from leadloop_contract.agreement.routing import Number, Range, Routing, Sla, Strict, Text
from leadloop_contract.bounds import MAX_TEXT
from leadloop_contract.profile import NUMBER_FIELDS, PROFILE_FIELDS
from leadloop_contract.values import ACTIVITY_TYPES, GRADES, ActivityType, Grade

MAX_FIT_RULES = 60
"""Fit rules: with the negative and interest lines, a score's breakdown stays within 100."""


def _pattern(pattern: str) -> str:
    try:
        compile_pattern(pattern)
    except PatternRefused as exc:
        raise ValueError(f"pattern {pattern[:80]!r}: {exc}") from exc
    return pattern


Pattern = Annotated[Text, AfterValidator(_pattern)]


class Owners(Strict):
    marketing: Text
    sales: Text
    signed_by: list[Text] = Field(default_factory=list)


class Definitions(Strict):
    """What each stage means, in the teams' own words (marketing owns up to sql)."""

    lead: Text = "Anyone we can contact who gave us their details."
    mql: Text = "A fit lead whose interest marketing keeps nurturing."
    sql: Text = "A lead sales has agreed to follow up now."
    accepted: Text = "Sales accepted the lead and is working it."
    opportunity: Text = "Sales opened an opportunity."
    customer: Text = "The lead's company bought."
    recycled: Text = "Back to marketing nurture, with a reason."
    disqualified: Text = "Never to be handed off, with a reason."


FitOp = Literal["equals", "one_of", "range", "contains", "regex", "email_domain_in"]
_LISTS = ("one_of", "email_domain_in")


@cache
def _value_type(op: FitOp, numeric: bool) -> TypeAdapter[Any]:
    """What a rule's value must be: text where it is compared with text, a number only where
    the field holds one (company_size) and the op compares numbers."""
    if op == "range":
        return TypeAdapter(Range)
    if op in ("equals", "one_of") and numeric:
        scalar: Any = Number
    else:
        scalar = Text
    return TypeAdapter(list[scalar] if op in _LISTS else scalar)


class FitRule(Strict):
    """Points for who the lead is."""

    id: Text = Field(pattern=r"^[a-z0-9][a-z0-9_\-]*$", max_length=64)
    description: Text = Field(default="", max_length=MAX_TEXT)
    field: Text
    op: FitOp
    value: Any
    points: float

    @field_validator("value")
    @classmethod
    def _value_fits_op(cls, value: Any, info: ValidationInfo) -> Any:
        """Checked, and kept as written (the checksum covers it)."""
        op = info.data.get("op")
        if op is None or (op in _LISTS and not isinstance(value, list)):
            return value  # the op's own error, or _check's, says what is wrong
        # A ValidationError raised here keeps its location: fit.rules[2].value[4].
        _value_type(op, info.data.get("field") in NUMBER_FIELDS).validate_python(value)
        if op == "regex":
            _pattern(value)
        return value

    @model_validator(mode="after")
    def _check(self) -> FitRule:
        if self.field not in (*PROFILE_FIELDS, "email_domain"):
            raise ValueError(
                f"unknown field {self.field!r}; use one of {PROFILE_FIELDS} or email_domain"
            )
        if self.op in ("one_of", "email_domain_in") and not isinstance(self.value, list):
            raise ValueError(f"{self.op} needs a list value")
        if self.op == "range":
            bounds = Range.model_validate(self.value)
            if bounds.min is None and bounds.max is None:
                raise ValueError("range needs min or max")
            if bounds.min is not None and bounds.max is not None and bounds.min > bounds.max:
                raise ValueError("range min is above max")
        return self


class Fit(Strict):
    rules: list[FitRule] = Field(max_length=MAX_FIT_RULES)
    grades: dict[Grade, float] = Field(description="lower bound of fit points for each grade")

    @model_validator(mode="after")
    def _check(self) -> Fit:
        if set(self.grades) != set(GRADES):
            raise ValueError("grades needs exactly A, B, C and D")
        bounds = [self.grades[g] for g in GRADES]
        if bounds != sorted(bounds, reverse=True) or len(set(bounds)) != 4:
            raise ValueError("grade bounds must fall strictly from A to D")
        ids = [r.id for r in self.rules]
        if len(ids) != len(set(ids)):
            raise ValueError("fit rule ids must be unique")
        return self


class Caps(Strict):
    per_type: dict[ActivityType, float] = Field(default_factory=dict)
    max_interest: float | None = Field(default=None, gt=0)


class HandRaise(Strict):
    activities: list[ActivityType]
    min_grade: Grade = "B"


class Interest(Strict):
    points: dict[ActivityType, float]
    window_days: int = Field(
        default=90, ge=1, le=3650, description="older activity no longer counts"
    )
    half_life_days: float = Field(gt=0, le=3650)
    caps: Caps = Caps()
    hand_raise: HandRaise
    bands: dict[Annotated[Text, Field(min_length=1, max_length=40)], float] = Field(
        description="interest band name -> lower bound", max_length=20
    )

    @field_validator("points")
    @classmethod
    def _no_negative_interest(cls, points: dict[str, float]) -> dict[str, float]:
        bad = [k for k, v in points.items() if v < 0]
        if bad:
            raise ValueError(f"interest points are never negative ({bad}); use negative rules")
        return points

    @model_validator(mode="after")
    def _check(self) -> Interest:
        if 0 not in self.bands.values():
            raise ValueError("one interest band must start at 0")
        if len(set(self.bands.values())) != len(self.bands):
            raise ValueError("interest bands must not share a lower bound")
        return self


NegativeKind = Literal["competitor", "free_mail", "student", "excluded_title", "unsubscribe"]


class Student(Strict):
    title_patterns: list[Pattern] = Field(default_factory=list, description="RE2 syntax")
    domain_suffixes: list[Text] = Field(default_factory=list)


class Negative(Strict):
    competitor_domains: list[Text] = Field(default_factory=list)
    free_mail_domains: list[Text] = Field(default_factory=list)
    student: Student = Student()
    excluded_titles: list[Text] = Field(default_factory=list, description="substrings of titles")
    points: dict[NegativeKind, float]
    disqualify: list[NegativeKind] = Field(default_factory=list)

    @field_validator("points")
    @classmethod
    def _negative(cls, points: dict[str, float]) -> dict[str, float]:
        bad = [k for k, v in points.items() if v > 0]
        if bad:
            raise ValueError(f"negative rules take points away: {bad} must be ≤ 0")
        return points


class Threshold(Strict):
    min_total: float
    min_grade: Grade = "D"


class Matrix(Strict):
    """The fit × interest quadrant and the MQL and SQL thresholds."""

    fit_threshold: float = Field(description="fit points from which a lead is a fit")
    interest_threshold: float = Field(description="interest points from which a lead is engaged")
    mql: Threshold
    sql: Threshold

    @model_validator(mode="after")
    def _check(self) -> Matrix:
        if self.sql.min_total < self.mql.min_total:
            raise ValueError("the SQL threshold must not be below the MQL threshold")
        return self


class Recycle(Strict):
    requalify_interest: float = Field(gt=0, description="new interest since the recycle date")
    cool_off_days: int = Field(default=0, ge=0, le=3650)


class Agreement(Strict):
    """The agreement between sales and marketing, one version."""

    version: Text = Field(min_length=1, max_length=100)
    effective_from: date | None = None
    owners: Owners
    definitions: Definitions = Definitions()
    fit: Fit
    interest: Interest
    negative: Negative
    matrix: Matrix
    recycle: Recycle
    routing: Routing = Routing()
    sla: Sla = Sla()
    rejection_reasons: list[Text] = Field(
        default=[
            "bad_fit",
            "no_interest",
            "bad_data",
            "duplicate",
            "competitor",
            "no_budget",
            "wrong_timing",
            "other",
        ],
        description="the reason codes sales gives when it rejects or disqualifies a lead",
    )
    crm: CrmMapping | None = Field(
        default=None,
        description="what the CRM connectors write on a lead alert (routing's settings "
        "LEADLOOP_HUBSPOT_LEAD_STATUS, _LIFECYCLE_STAGE, LEADLOOP_SALESFORCE_LEAD_STATUS "
        "where this says nothing)",
        # Left out of the document while unset: agreements without it keep their checksum.
        exclude_if=lambda value: value is None,
    )

    @model_validator(mode="after")
    def _hand_raise_known(self) -> Agreement:
        unknown = [a for a in self.interest.hand_raise.activities if a not in ACTIVITY_TYPES]
        if unknown:
            raise ValueError(f"unknown hand-raise activities {unknown}")
        return self
