"""What callers send intake (form fills, activities) and the rules that make them valid."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from email_validator import EmailNotValidError, validate_email
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidatorFunctionWrapHandler,
    WrapValidator,
    model_validator,
)

from leadloop_contract.values import ExternalIds
from leadloop_events import bounds
from leadloop_events.bounds import FreeForm
from leadloop_events.instant import PastInstant
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


# Each bound is at most the event's (leadloop_events.bounds) and the column's: whatever is
# accepted here makes a valid event and a storable row.
Email = Annotated[str, Field(max_length=bounds.MAX_EMAIL), AfterValidator(check_email)]
Country = Annotated[str, Field(min_length=2, max_length=2), AfterValidator(check_country)]
Source = Annotated[str, Field(max_length=100), AfterValidator(check_source)]
Short = Annotated[str, Field(max_length=200)]
Phone = Annotated[str, Field(max_length=50)]
Url = Annotated[str, Field(max_length=bounds.MAX_URL)]


class FormSubmission(BaseModel):
    """A form fill as marketing automation posts it (generic JSON)."""

    model_config = ConfigDict(
        extra="forbid",
        str_strip_whitespace=True,
        json_schema_extra={
            "examples": [
                {
                    "email": "ana.lopez@acme-dental.com",
                    "first_name": "Ana",
                    "last_name": "Lopez",
                    "company": "Acme Dental",
                    "job_title": "Head of Operations",
                    "company_size": 250,
                    "industry": "healthcare",
                    "country": "DE",
                    "source": "webinar",
                    "campaign": "spring-webinar-2025",
                    "form_id": "demo-request",
                    "page_url": "https://leadloop.dev/demo",
                    "submitted_at": "2025-03-04T09:15:00Z",
                    "utm": {"source": "linkedin", "medium": "paid_social"},
                    "consent": True,
                    "fields": {"how_did_you_hear": "a colleague"},
                }
            ]
        },
    )

    email: Email
    first_name: Short | None = None
    last_name: Short | None = None
    company: Short | None = None
    job_title: Short | None = None
    company_size: int | None = Field(default=None, ge=0, le=10_000_000, description="employees")
    industry: Short | None = None
    country: Country | None = Field(default=None, description="ISO 3166-1 alpha-2")
    phone: Phone | None = None
    source: Source | None = Field(default=None, examples=["organic", "paid_search", "webinar"])
    campaign: Short | None = None
    form_id: Short | None = None
    page_url: Url | None = None
    submitted_at: PastInstant | None = None
    utm: Utm | None = None
    consent: bool | None = None
    fields: FreeForm = Field(default_factory=dict, description="anything else the form had")
    external_ids: ExternalIds = Field(
        default_factory=dict,
        description="the person's ids in other systems (hubspot, salesforce): a later submission "
        "with the same id goes to the same lead",
    )

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


ACTIVITY_EXAMPLE: dict[str, Any] = {
    "email": "ana.lopez@acme-dental.com",
    "type": "pricing_page_view",
    "occurred_at": "2025-03-04T10:02:00Z",
    "url": "https://leadloop.dev/pricing",
}


class Activity(BaseModel):
    """One behaviour signal for a lead known by `lead_id` or `email`."""

    model_config = ConfigDict(
        extra="forbid",
        str_strip_whitespace=True,
        json_schema_extra={"examples": [ACTIVITY_EXAMPLE]},
    )

    lead_id: Annotated[str, Field(max_length=64)] | None = None
    email: Email | None = None
    type: ActivityType
    occurred_at: PastInstant
    url: Url | None = None
    asset: Short | None = None
    campaign: Short | None = None
    properties: FreeForm = Field(default_factory=dict)

    @model_validator(mode="after")
    def _one_identity(self) -> Activity:
        if (self.lead_id is None) == (self.email is None):
            raise ValueError("give exactly one of lead_id or email")
        return self


class ActivityBatch(BaseModel):
    """Up to 1,000 activities accepted or refused together."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "activities": [
                        ACTIVITY_EXAMPLE,
                        {
                            "lead_id": "3f2b8c1e-5d4a-4e7b-9c6f-0a1b2c3d4e5f",
                            "type": "email_open",
                            "occurred_at": "2025-03-04T10:05:00Z",
                            "campaign": "spring-webinar-2025",
                        },
                    ]
                }
            ]
        },
    )

    activities: list[Activity] = Field(min_length=1, max_length=1000)


def _one_or_batch(value: object, handler: ValidatorFunctionWrapHandler) -> object:
    # Validate against the one shape the body has, so errors name its fields
    # (`activities.3.properties`), not both branches of a union.
    if isinstance(value, dict) and "activities" in value:
        return ActivityBatch.model_validate(value)
    return Activity.model_validate(value)


ActivitiesBody = Annotated[ActivityBatch | Activity, WrapValidator(_one_or_batch)]
"""`POST /v1/activities`: one activity, or a batch under `activities`."""

Channel = Literal["form", "hubspot", "import"]
