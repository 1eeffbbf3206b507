"""Readable test data for scoring: the example agreement and a few people."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from leadloop_contract.profile import LeadProfile
from leadloop_scoring.domain.interest import ActivityFact
from tests.unit.contract.factories import AGREEMENT, NOW, agreement_with

__all__ = ["AGREEMENT", "NOW", "agreement_with", "did", "person"]


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
    """An activity of `activity_type` some days before NOW."""
    return ActivityFact(activity_type, NOW - timedelta(days=days_ago), campaign)
