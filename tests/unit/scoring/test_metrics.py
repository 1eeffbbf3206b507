"""Scoring's domain metrics come from the events a unit of work committed."""

from __future__ import annotations

from datetime import timedelta

import pytest

from leadloop_events.envelope import new_event
from leadloop_events.lifecycle import LeadIntelligence, LeadStageChanged
from leadloop_scoring import metrics

from .factories import NOW, person


def value(counter: object, **labels: str) -> float:
    return float(counter.labels(**labels)._value.get())  # type: ignore[attr-defined]


def test_stage_changes_count_transitions_qualified_leads_and_capture_to_sql() -> None:
    before = value(metrics.TRANSITIONS, from_stage="mql", to_stage="sql")
    sqls = value(metrics.QUALIFIED, stage="sql", source="webinar")
    count_before = metrics.CAPTURE_TO_SQL._sum.get()  # type: ignore[attr-defined]
    intel = LeadIntelligence(
        profile=person(), fit=85, interest=40, grade="A", first_seen_at=NOW - timedelta(hours=2)
    )
    data = LeadStageChanged(
        lead_id="lead-ACME-DENTAL",
        from_stage="mql",
        to_stage="sql",
        reason="hand-raise",
        agreement_version="2026-11",
        changed_at=NOW,
        first_source="webinar",
        intelligence=intel,
    )
    metrics.observe([new_event(data, source="/tests", subject="lead-ACME-DENTAL")])
    assert value(metrics.TRANSITIONS, from_stage="mql", to_stage="sql") == before + 1
    assert value(metrics.QUALIFIED, stage="sql", source="webinar") == sqls + 1
    # The sum is a float others add to (handler tests commit SQLs): equal up to rounding.
    added = metrics.CAPTURE_TO_SQL._sum.get() - count_before  # type: ignore[attr-defined]
    assert added == pytest.approx(7200, abs=1e-6)
