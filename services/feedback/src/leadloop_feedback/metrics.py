"""Feedback's domain metrics, derived from the CRM events it commits."""

from __future__ import annotations

from collections.abc import Sequence

from prometheus_client import Counter

from leadloop_events.envelope import CloudEvent

CRM_UPDATES = Counter(
    "leadloop_crm_updates_total",
    "CRM facts accepted and published (touch, status, deal), by kind and value.",
    ["kind", "value"],
)


def observe(events: Sequence[CloudEvent]) -> None:
    """Count what a committed unit of work published."""
    for event in events:
        data = event.data
        if event.type == "leadloop.lead.touched.v1":
            CRM_UPDATES.labels("touch", data["outcome"]).inc()
        elif event.type == "leadloop.lead.status_changed.v1":
            CRM_UPDATES.labels("status", data["status"]).inc()
        elif event.type == "leadloop.deal.closed.v1":
            CRM_UPDATES.labels("deal", data["stage"]).inc()
