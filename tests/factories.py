"""Readable test data shared by the integration, end-to-end and fault tests: ACME Dental's head
of operations as a form fill and as an SQL, the example agreement as scoring announces it, and
working hours that never close."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from leadloop_contract.agreement import EXAMPLE_FILE, Agreement, checksum, load_agreement
from leadloop_events.agreement import AgreementPublished
from leadloop_events.intake import LeadProfile
from leadloop_events.lifecycle import LeadIntelligence, LeadStageChanged, TimelineEntry

AGREEMENT_VERSION = "2026-11"  # the example agreement's
# A rep's working hours that are always open: every SQL finds a rep at work.
ALWAYS = {
    "timezone": "UTC",
    "start": "00:00:00",
    "end": "23:59:59",
    "workdays": [0, 1, 2, 3, 4, 5, 6],
}


def acme_dental_form(**fields: Any) -> dict[str, Any]:
    """A form fill from ACME Dental's head of operations (a grade-A fit, from the Q4 dental
    webinar); `fields` change or add fields, and a field set to None is left out."""
    form: dict[str, Any] = {
        "email": "ana.lopez@acme-dental.com",
        "first_name": "Ana",
        "company": "ACME Dental",
        "company_size": 240,
        "industry": "Healthcare",
        "country": "DE",
        "job_title": "Head of Operations",
        "source": "webinar",
        "campaign": "q4-dental-webinar",
    }
    form.update(fields)
    return {k: v for k, v in form.items() if v is not None}


def intelligence(email: str = "ana@acme-dental.com") -> LeadIntelligence:
    """What scoring knows of ACME Dental's head of operations: grade A, asked for a demo."""
    now = datetime.now(UTC)
    return LeadIntelligence(
        profile=LeadProfile(
            email=email,
            first_name="Ana",
            last_name="Lopez",
            company="ACME Dental",
            company_size=240,
            country="DE",
            job_title="Head of Operations",
        ),
        fit=85,
        interest=40,
        grade="A",
        timeline=[TimelineEntry(activity_type="demo_request", occurred_at=now)],
        sources=["webinar"],
        campaigns=["q4-dental-webinar"],
        first_seen_at=now,
    )


def stage_changed(
    lead_id: str,
    from_stage: str = "mql",
    to_stage: str = "sql",
    *,
    email: str = "ana@acme-dental.com",
    agreement_version: str = AGREEMENT_VERSION,
) -> LeadStageChanged:
    """`lead_id` moved on by a demo request (to SQL unless told otherwise), with intelligence."""
    return LeadStageChanged(
        lead_id=lead_id,
        from_stage=from_stage,
        to_stage=to_stage,
        reason="hand-raise: demo_request",
        agreement_version=agreement_version,
        changed_at=datetime.now(UTC),
        intelligence=intelligence(email),
    )


def agreement_published(agreement: Agreement | None = None) -> AgreementPublished:
    """The announcement scoring makes at start, of `agreement` (the example one by default)."""
    if agreement is None:
        agreement = load_agreement(EXAMPLE_FILE.read_text())
    return AgreementPublished(
        version=agreement.version,
        published_at=datetime.now(UTC),
        checksum=checksum(agreement),
        document=agreement,
    )
