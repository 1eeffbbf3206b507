"""Readable test data for scoring: the example agreement and a few people."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from leadloop_events.intake import LeadProfile
from leadloop_scoring.domain.agreement import EXAMPLE_FILE, Agreement, load_agreement
from leadloop_scoring.domain.interest import ActivityFact

NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
AGREEMENT = load_agreement(EXAMPLE_FILE.read_text())


def agreement_with(**changes: Any) -> Agreement:
    """The example agreement with top-level sections replaced or deep-updated."""
    document = AGREEMENT.model_dump(mode="json")
    for path, value in changes.items():
        target = document
        *parents, leaf = path.split("__")
        for key in parents:
            target = target[key]
        target[leaf] = value
    return Agreement.model_validate(document)


def person(**fields: Any) -> LeadProfile:
    """ACME-DENTAL's head of operations unless told otherwise: a grade A fit."""
    base: dict[str, Any] = {
        "email": "ana@acme-dental.com",
        "company": "ACME Dental",
        "company_size": 240,
        "country": "DE",
        "industry": "Healthcare",
        "job_title": "Head of Operations",
    }
    return LeadProfile(**(base | fields))


def did(activity_type: str, days_ago: float = 0.0, campaign: str | None = None) -> ActivityFact:
    return ActivityFact(activity_type, NOW - timedelta(days=days_ago), campaign)
