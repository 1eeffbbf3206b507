"""Response bodies of intake's HTTP API."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel


class Accepted(BaseModel):
    lead_id: str
    submission_id: str


class ActivitiesAccepted(BaseModel):
    activity_ids: list[str]


class RowError(BaseModel):
    line: int
    errors: list[dict[str, Any]]


class ImportResult(BaseModel):
    import_id: str
    rows_accepted: int
    rows_rejected: int
    new_leads: int
    errors: list[RowError]
    errors_truncated: bool


class SubmissionView(BaseModel):
    submission_id: str
    channel: str
    source: str | None
    campaign: str | None
    form_id: str | None
    received_at: datetime
    submitted_at: datetime
    raw: Any


class LeadView(BaseModel):
    lead_id: str
    email: str | None
    first_name: str | None
    last_name: str | None
    company: str | None
    job_title: str | None
    company_size: int | None
    industry: str | None
    country: str | None
    phone: str | None
    first_source: str | None
    first_campaign: str | None
    created_at: datetime
    updated_at: datetime
    erased_at: datetime | None
    external_ids: dict[str, str] = {}
    submissions: list[SubmissionView]


class Erased(BaseModel):
    lead_id: str
    erased_at: datetime
