"""Events published by intake on `leads.intake`."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field

from leadloop_events import topics
from leadloop_events.envelope import EventData

ActivityType = Literal[
    "page_view",
    "pricing_page_view",
    "email_open",
    "email_click",
    "content_download",
    "webinar_registered",
    "webinar_attended",
    "demo_request",
    "free_trial_signup",
    "contact_sales_request",
    "unsubscribe",
]
ACTIVITY_TYPES: tuple[str, ...] = get_args(ActivityType)


class Utm(BaseModel):
    """UTM parameters of the page the form was filled on."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    source: str | None = None
    medium: str | None = None
    campaign: str | None = None
    term: str | None = None
    content: str | None = None


class LeadProfile(BaseModel):
    """Who the lead is, as far as marketing knows: the fields fit rules read."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    email: str
    first_name: str | None = None
    last_name: str | None = None
    company: str | None = None
    job_title: str | None = None
    company_size: int | None = Field(default=None, ge=0)
    industry: str | None = None
    country: str | None = Field(default=None, description="ISO 3166-1 alpha-2")
    phone: str | None = None


class LeadCaptured(EventData):
    """A form fill (or import row, or HubSpot webhook) was accepted for a lead."""

    event_type: ClassVar[str] = "leadloop.lead.captured.v1"
    topic: ClassVar[str] = topics.INTAKE

    lead_id: str
    submission_id: str
    is_new_lead: bool
    channel: Literal["form", "hubspot", "import"]
    profile: LeadProfile
    source: str | None = None
    campaign: str | None = None
    form_id: str | None = None
    page_url: str | None = None
    utm: Utm | None = None
    consent: bool | None = None
    fields: dict[str, Any] = Field(default_factory=dict)
    submitted_at: datetime


class ActivityRecorded(EventData):
    """A behaviour signal for a known lead."""

    event_type: ClassVar[str] = "leadloop.lead.activity_recorded.v1"
    topic: ClassVar[str] = topics.INTAKE

    lead_id: str
    activity_id: str
    activity_type: ActivityType
    occurred_at: datetime
    url: str | None = None
    asset: str | None = None
    campaign: str | None = None
    properties: dict[str, Any] = Field(default_factory=dict)


class LeadErased(EventData):
    """GDPR erasure: every service must forget this person's personal data."""

    event_type: ClassVar[str] = "leadloop.lead.erased.v1"
    topic: ClassVar[str] = topics.INTAKE

    lead_id: str
    erased_at: datetime
    reason: str | None = None
