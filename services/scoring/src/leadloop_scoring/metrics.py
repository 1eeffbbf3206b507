"""Scoring's domain metrics, derived from the events it commits (no lines inside handlers)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from prometheus_client import Counter, Histogram

from leadloop_events.envelope import CloudEvent
from leadloop_platform.metrics import source_label

SCORES = Counter(
    "leadloop_scores_computed_total", "Score changes published, by fit grade.", ["grade"]
)
TRANSITIONS = Counter(
    "leadloop_stage_transitions_total",
    "Lifecycle transitions applied, by from and to stage.",
    ["from_stage", "to_stage"],
)
QUALIFIED = Counter(
    "leadloop_qualified_leads_total",
    "Leads that became MQLs or SQLs, by their first source.",
    ["stage", "source"],
)
CAPTURE_TO_SQL = Histogram(
    "leadloop_capture_to_sql_seconds",
    "Time from a lead's first capture to its becoming an SQL.",
    buckets=(1, 10, 60, 300, 1800, 3600, 6 * 3600, 86400, 7 * 86400, 30 * 86400, 90 * 86400),
)


def observe(events: Sequence[CloudEvent]) -> None:
    """Count what a committed unit of work published."""
    for event in events:
        data = event.data
        if event.type == "leadloop.lead.scored.v1":
            SCORES.labels(data["grade"]).inc()
        elif event.type == "leadloop.lead.stage_changed.v1":
            TRANSITIONS.labels(data["from_stage"], data["to_stage"]).inc()
            if data["to_stage"] in ("mql", "sql"):
                QUALIFIED.labels(data["to_stage"], source_label(data.get("first_source"))).inc()
            first_seen = (data.get("intelligence") or {}).get("first_seen_at")
            if data["to_stage"] == "sql" and first_seen:
                changed = datetime.fromisoformat(data["changed_at"])
                CAPTURE_TO_SQL.observe(
                    (changed - datetime.fromisoformat(first_seen)).total_seconds()
                )
