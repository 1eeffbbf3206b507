"""The lead intelligence sales gets at hand-off, bounded so that its event always fits the broker.

Scoring keeps every source and campaign a lead came through; the event carries the most recent
MAX_ITEMS of each (6,000 campaigns on one lead once made a 1.2 MB stage_changed that jammed the
outbox), and a timeline of at most MAX_ITEMS activities.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from leadloop_contract.bounds import MAX_ITEMS
from leadloop_contract.profile import LeadProfile
from leadloop_contract.values import ExternalIds
from leadloop_events.lifecycle import LeadIntelligence, TimelineEntry
from leadloop_scoring.domain.interest import ActivityFact
from leadloop_scoring.domain.rules import Score


def most_recent(values: Sequence[str], limit: int = MAX_ITEMS) -> list[str]:
    """The last `limit` values of a list kept in the order they were first seen."""
    return list(values[-limit:]) if limit > 0 else []


def lead_intelligence(
    profile: LeadProfile | None,
    result: Score,
    facts: Sequence[ActivityFact],
    *,
    sources: Sequence[str],
    campaigns: Sequence[str],
    first_seen_at: datetime | None,
    timeline_limit: int,
    external_ids: ExternalIds | None = None,
) -> LeadIntelligence:
    """Who, why, what they did (most recent first) and where they came from (most recent)."""
    latest = sorted(facts, key=lambda f: f.occurred_at, reverse=True)
    timeline = [
        TimelineEntry(
            activity_type=f.activity_type,
            occurred_at=f.occurred_at,
            url=f.url,
            campaign=f.campaign,
        )
        for f in latest[: min(timeline_limit, MAX_ITEMS)]
    ]
    return LeadIntelligence(
        profile=profile or LeadProfile(email=""),
        fit=result.fit,
        interest=result.interest,
        grade=result.grade,
        breakdown=list(result.breakdown),
        timeline=timeline,
        sources=most_recent(sources),
        campaigns=most_recent(campaigns),
        first_seen_at=first_seen_at,
        external_ids=dict(external_ids or {}),
    )
