"""Response bodies of intake's HTTP API."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

LEAD_ID = "3f2b8c1e-5d4a-4e7b-9c6f-0a1b2c3d4e5f"
SUBMISSION_ID = "8d7e6f5a-4b3c-4d2e-8f1a-9b0c1d2e3f4a"


class Accepted(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"lead_id": LEAD_ID, "submission_id": SUBMISSION_ID}]}
    )

    lead_id: str
    submission_id: str


class ActivitiesAccepted(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"activity_ids": ["c1d2e3f4-a5b6-4c7d-8e9f-0a1b2c3d4e5f"]}]}
    )

    activity_ids: list[str]


class RowError(BaseModel):
    line: int
    errors: list[dict[str, Any]]


class ImportResult(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "import_id": "5e6f7a8b-9c0d-4e1f-a2b3-c4d5e6f7a8b9",
                    "rows_accepted": 1198,
                    "rows_rejected": 2,
                    "new_leads": 1104,
                    "errors": [
                        {
                            "line": 17,
                            "errors": [{"field": "email", "message": "not a valid email address"}],
                        }
                    ],
                    "errors_truncated": False,
                }
            ]
        }
    )

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
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "lead_id": LEAD_ID,
                    "email": "ana.lopez@acme-dental.com",
                    "first_name": "Ana",
                    "last_name": "Lopez",
                    "company": "Acme Dental",
                    "job_title": "Head of Operations",
                    "company_size": 250,
                    "industry": "healthcare",
                    "country": "DE",
                    "phone": "+49 30 901820",
                    "first_source": "webinar",
                    "first_campaign": "spring-webinar-2025",
                    "created_at": "2025-03-04T09:15:02Z",
                    "updated_at": "2025-03-04T09:15:02Z",
                    "erased_at": None,
                    "submissions": [
                        {
                            "submission_id": SUBMISSION_ID,
                            "channel": "form",
                            "source": "webinar",
                            "campaign": "spring-webinar-2025",
                            "form_id": "demo-request",
                            "received_at": "2025-03-04T09:15:02Z",
                            "submitted_at": "2025-03-04T09:15:00Z",
                            "raw": {"email": "ana.lopez@acme-dental.com", "first_name": "Ana"},
                        }
                    ],
                }
            ]
        }
    )

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
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"lead_id": LEAD_ID, "erased_at": "2025-04-01T12:00:00Z"}]}
    )

    lead_id: str
    erased_at: datetime


IMPORT_ID = "5e6f7a8b-9c0d-4e1f-a2b3-c4d5e6f7a8b9"


class ImportStatusView(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "import_id": IMPORT_ID,
                    "state": "running",
                    "source": "event",
                    "campaign": "expo-2026",
                    "rows_read": 42000,
                    "rows_accepted": 41990,
                    "rows_rejected": 10,
                    "new_leads": 40112,
                    "errors": [
                        {
                            "line": 17,
                            "errors": [{"field": "email", "message": "not a valid email address"}],
                        }
                    ],
                    "errors_truncated": True,
                    "received_at": "2026-03-04T09:15:02Z",
                    "finished_at": None,
                    "failure": None,
                }
            ]
        }
    )

    import_id: str
    state: Literal["running", "finished", "failed"]
    source: str | None
    campaign: str | None
    rows_read: int
    """Data rows read so far: accepted plus rejected (blank lines are not rows)."""
    rows_accepted: int
    """Rows captured as leads; each produced one `leadloop.lead.captured.v1` naming the import."""
    rows_rejected: int
    new_leads: int
    errors: list[RowError]
    errors_truncated: bool
    received_at: datetime
    finished_at: datetime | None
    failure: str | None
