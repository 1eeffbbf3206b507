"""Routing's domain metrics, derived from the events it commits."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import datetime
from typing import TypeVar

from prometheus_client import Counter, Histogram

from leadloop_db.uow import UnitOfWork
from leadloop_events.envelope import CloudEvent, EventData
from leadloop_events.handoff import LeadAssigned
from leadloop_events.lifecycle import LeadStageChanged
from leadloop_routing.domain.connectors import CONNECTOR_NAMES
from leadloop_runtime.registry import EventHandler

U = TypeVar("U", bound=UnitOfWork)

ASSIGNMENTS = Counter(
    "leadloop_assignments_total",
    "SQLs assigned, by team and rep (queue when none).",
    ["team", "rep"],
)
HANDOFF_LATENCY = Histogram(
    "leadloop_handoff_latency_seconds",
    "From a lead's first capture to its lead alert.",
    buckets=(0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600, 86400, 7 * 86400),
)
SQL_TO_ALERT = Histogram(
    "leadloop_sql_to_alert_seconds",
    "From scoring making a lead an SQL to routing committing its lead alert.",
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
)
SPEED_TO_LEAD = Histogram(
    "leadloop_speed_to_lead_seconds",
    "From a lead alert to sales' first touch (or stopping status), by team.",
    ["team"],
    buckets=(60, 300, 900, 1800, 3600, 4 * 3600, 8 * 3600, 86400, 3 * 86400, 7 * 86400),
)
SLA_BREACHES = Counter(
    "leadloop_sla_breaches_total", "SLA escalation steps taken.", ["team", "step"]
)
REASSIGNMENTS = Counter(
    "leadloop_reassignments_total", "Leads moved by the SLA ladder.", ["team", "to"]
)
WEBHOOK_DELIVERIES = Counter(
    "leadloop_webhook_deliveries_total", "Webhook delivery attempts, by outcome.", ["outcome"]
)
EMAILS = Counter("leadloop_alert_emails_total", "Alert emails, by outcome.", ["outcome"])
CONNECTOR_DELIVERIES = Counter(
    "leadloop_connector_deliveries_total",
    "Connector (CRM, Slack) delivery attempts, by connector and outcome: ok, retry (on the "
    "backoff schedule), rate_limited (at the vendor's Retry-After), failed (for good), error "
    "(the connector itself failed; retried on the schedule).",
    ["connector", "outcome"],
)
CONNECTOR_OUTCOMES = ("ok", "retry", "rate_limited", "failed", "error")
# Known outcomes start at 0, so the dashboard and alerts see 0, not "no data".
for _outcome in ("ok", "error"):
    WEBHOOK_DELIVERIES.labels(_outcome)
for _outcome in ("sent", "error"):
    EMAILS.labels(_outcome)
for _connector in CONNECTOR_NAMES:
    for _outcome in CONNECTOR_OUTCOMES:
        CONNECTOR_DELIVERIES.labels(_connector, _outcome)


def observe(events: Sequence[CloudEvent]) -> None:
    """Count what a committed unit of work published."""
    for event in events:
        data = event.data
        if event.type == "leadloop.lead.assigned.v1":
            ASSIGNMENTS.labels(data["team"], data["owner_rep_id"] or "queue").inc()
            first_seen = (data.get("intelligence") or {}).get("first_seen_at")
            if first_seen:
                assigned = datetime.fromisoformat(data["assigned_at"])
                HANDOFF_LATENCY.observe(
                    (assigned - datetime.fromisoformat(first_seen)).total_seconds()
                )
        elif event.type == "leadloop.lead.sla_breached.v1":
            SLA_BREACHES.labels(data["team"], data["step"]).inc()
        elif event.type == "leadloop.lead.reassigned.v1":
            REASSIGNMENTS.labels(data["team"], "rep" if data["to_rep_id"] else "queue").inc()


def timed_alerts(handler: EventHandler[U]) -> EventHandler[U]:
    """`handler`, measuring SQL to alert: from the SQL event's time to the lead alert it caused.

    The alert does not carry the SQL's time, so this is measured around the handler (the one
    place that sees both) and counted only if the transaction commits.
    """

    @functools.wraps(handler)
    async def timed(uow: U, event: CloudEvent, data: EventData) -> None:
        await handler(uow, event, data)
        if not isinstance(data, LeadStageChanged):
            return
        for _, published in uow.events:
            if published.type == LeadAssigned.event_type:
                assigned = datetime.fromisoformat(published.data["assigned_at"])
                seconds = (assigned - data.changed_at).total_seconds()
                uow.observe(SQL_TO_ALERT, max(0.0, seconds))

    return timed
