"""Intake's domain metrics, counted from the events it commits (no lines inside handlers)."""

from __future__ import annotations

from collections.abc import Sequence

from prometheus_client import Counter, Histogram

from leadloop_events.envelope import CloudEvent
from leadloop_events.intake import ACTIVITY_TYPES, ActivityRecorded, LeadCaptured
from leadloop_platform.metrics import source_label

LEADS_CAPTURED = Counter(
    "leadloop_leads_captured_total",
    "Form fills, webhook calls and import rows accepted, by channel and source.",
    ["channel", "source", "new_lead"],
)
ACTIVITIES_RECORDED = Counter(
    "leadloop_activities_recorded_total",
    "Behaviour signals accepted, by activity type.",
    ["activity_type"],
)
COMMIT_GROUP_CALLS = Histogram(
    "leadloop_commit_group_calls",
    "Requests (form fills, webhook calls, activity batches) committed by one transaction.",
    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 1000),
)
# Every activity type starts at 0, so a dashboard shows 0, not "no data", before the first one.
for _activity_type in ACTIVITY_TYPES:
    ACTIVITIES_RECORDED.labels(_activity_type)


def observe(events: Sequence[CloudEvent]) -> None:
    """Count the captures and activities a committed unit of work published."""
    for event in events:
        data = event.data
        if event.type == LeadCaptured.event_type:
            LEADS_CAPTURED.labels(
                data["channel"], source_label(data.get("source")), str(data["is_new_lead"]).lower()
            ).inc()
        elif event.type == ActivityRecorded.event_type:
            ACTIVITIES_RECORDED.labels(data["activity_type"]).inc()
