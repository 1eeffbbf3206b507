"""Commands intake accepts and the rules that make them valid."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from email_validator import EmailNotValidError, validate_email
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from leadloop_events.instant import Instant
from leadloop_events.intake import ActivityType, LeadProfile, Utm
from leadloop_intake.domain.countries import ISO_3166_ALPHA2

GMAIL_DOMAINS = frozenset({"gmail.com", "googlemail.com"})
SLUG = re.compile(r"^[a-z0-9][a-z0-9_.\-]*$")


def check_email(value: str) -> str:
    """A syntactically valid address, as typed (normalization is separate)."""
    try:
        return validate_email(value.strip(), check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise ValueError(f"not a valid email address: {exc}") from exc


def normalize_email(email: str) -> str:
    """The identity key of a person: lower case; Gmail dots and +tags removed."""
    local, _, domain = email.strip().lower().rpartition("@")
    if domain in GMAIL_DOMAINS:
        local = local.split("+", 1)[0].replace(".", "")
        domain = "gmail.com"
    return f"{local}@{domain}"


def check_country(value: str) -> str:
    code = value.strip().upper()
    if code not in ISO_3166_ALPHA2:
        raise ValueError(f"{value!r} is not an ISO 3166-1 alpha-2 country code (e.g. DE, US)")
    return code


def check_source(value: str) -> str:
    slug = value.strip().lower().replace(" ", "_")
    if not SLUG.match(slug):
        raise ValueError("a source is a short slug such as organic, paid_search, webinar")
    return slug


Email = Annotated[str, Field(max_length=320), AfterValidator(check_email)]
Country = Annotated[str, Field(min_length=2, max_length=2), AfterValidator(check_country)]
Source = Annotated[str, Field(max_length=100), AfterValidator(check_source)]
Short = Annotated[str, Field(max_length=200)]


class FormSubmission(BaseModel):
    """A form fill as marketing automation posts it (generic JSON)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    email: Email
    first_name: Short | None = None
    last_name: Short | None = None
    company: Short | None = None
    job_title: Short | None = None
    company_size: int | None = Field(default=None, ge=0, le=10_000_000, description="employees")
    industry: Short | None = None
    country: Country | None = Field(default=None, description="ISO 3166-1 alpha-2")
    phone: Annotated[str, Field(max_length=50)] | None = None
    source: Source | None = Field(default=None, examples=["organic", "paid_search", "webinar"])
    campaign: Short | None = None
    form_id: Short | None = None
    page_url: Annotated[str, Field(max_length=2048)] | None = None
    submitted_at: Instant | None = None
    utm: Utm | None = None
    consent: bool | None = None
    fields: dict[str, Any] = Field(default_factory=dict, description="anything else the form had")

    def profile(self) -> LeadProfile:
        """The profile fields of this submission."""
        return LeadProfile(
            email=self.email,
            first_name=self.first_name,
            last_name=self.last_name,
            company=self.company,
            job_title=self.job_title,
            company_size=self.company_size,
            industry=self.industry,
            country=self.country,
            phone=self.phone,
        )


class Activity(BaseModel):
    """One behaviour signal for a lead known by `lead_id` or `email`."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    lead_id: Annotated[str, Field(max_length=64)] | None = None
    email: Email | None = None
    type: ActivityType
    occurred_at: Instant
    url: Annotated[str, Field(max_length=2048)] | None = None
    asset: Short | None = None
    campaign: Short | None = None
    properties: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _one_identity(self) -> Activity:
        if (self.lead_id is None) == (self.email is None):
            raise ValueError("give exactly one of lead_id or email")
        return self


class ActivityBatch(BaseModel):
    """Up to 1,000 activities accepted or refused together."""

    model_config = ConfigDict(extra="forbid")

    activities: list[Activity] = Field(min_length=1, max_length=1000)


Channel = Literal["form", "hubspot", "import"]
