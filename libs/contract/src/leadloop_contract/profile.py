"""The lead's profile: who the lead is as far as marketing knows, the fields fit rules read."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from leadloop_contract.bounds import Email, Text


class LeadProfile(BaseModel):
    """Who the lead is, as far as marketing knows: the fields fit rules read."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    email: Email
    first_name: Text | None = None
    last_name: Text | None = None
    company: Text | None = None
    job_title: Text | None = None
    company_size: int | None = Field(default=None, ge=0)
    industry: Text | None = None
    country: Text | None = Field(default=None, description="ISO 3166-1 alpha-2")
    phone: Text | None = None


PROFILE_FIELDS: tuple[str, ...] = tuple(LeadProfile.model_fields)
"""The profile fields a fit rule may read."""
NUMBER_FIELDS: frozenset[str] = frozenset(
    name for name, field in LeadProfile.model_fields.items() if field.annotation == int | None
)
"""The profile fields that hold a number (company_size): a fit rule may compare them with one."""
