"""Routing's handlers: every SQL gets an owner and an alert; the SLA holds sales to it.

leadloop.agreement.published.v1  -> store_agreement: the routing and SLA sections in force
leadloop.lead.stage_changed.v1   -> assign_lead: (to sql) decision, assignment, lead.assigned, timer
leadloop.lead.touched.v1         -> stop_sla_timer: the first touch stops the clock
leadloop.lead.status_changed.v1  -> stop_sla_timer: sales took it (or gave it back)
leadloop.lead.erased.v1          -> erase_lead: forget the person
EscalateDueLeads (SLA worker)    -> escalate_due_leads: sla_breached, reassigned, queue
UpsertRep, DeactivateRep, UpsertAccount, SubscribeWebhook, CancelSubscription, Redeliver
                                 -> the admin commands of the same names (handlers.admin)
LeaseDeliveries, RecordDeliveryAttempt, LeaseEmail, RecordEmailAttempt
                                 -> the short transactions around each send (handlers.deliveries)
LeaseConnectorJobs, RecordConnectorAttempt, RedeliverConnectorJob
                                 -> the same around each CRM/Slack job (handlers.connectors)
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

from leadloop_events.agreement import AgreementPublished
from leadloop_events.feedback import LeadStatusChanged, LeadTouched
from leadloop_events.intake import LeadErased
from leadloop_events.lifecycle import LeadStageChanged
from leadloop_routing import metrics
from leadloop_routing.adapters.connectors import build_connectors
from leadloop_routing.adapters.uow import SqlUnitOfWork
from leadloop_routing.alerts import Outbound
from leadloop_routing.config import Settings
from leadloop_routing.domain.connectors import Connector
from leadloop_routing.handlers.admin import (
    cancel_subscription,
    deactivate_rep,
    redeliver,
    subscribe_webhook,
    upsert_account,
    upsert_rep,
)
from leadloop_routing.handlers.deliveries import (
    lease_deliveries,
    lease_email,
    record_delivery_attempt,
    record_email_attempt,
)
from leadloop_routing.handlers.escalation import escalate_due_leads
from leadloop_routing.handlers.leads import assign_lead, erase_lead, stop_sla_timer, store_agreement
from leadloop_runtime import Registry


def outbound_of(settings: Settings, connectors: Sequence[Connector] | None = None) -> Outbound:
    """The alert channels as configured: email only when an SMTP host is set; the connectors
    whose credentials are set (built from adapters.connectors unless given)."""
    enabled = build_connectors(settings) if connectors is None else connectors
    return Outbound(
        email_enabled=bool(settings.smtp_host),
        dashboard_url=settings.dashboard_url,
        connectors=tuple(enabled),
    )


def registry(
    settings: Settings | None = None, outbound: Outbound | None = None
) -> Registry[SqlUnitOfWork]:
    """Event type -> handler: routing's data-flow map (no I/O to build)."""
    outbound = outbound or outbound_of(settings or Settings())
    events: Registry[SqlUnitOfWork] = Registry()
    events.on(AgreementPublished)(store_agreement)
    assign = functools.update_wrapper(
        functools.partial(assign_lead, outbound=outbound), assign_lead
    )
    events.on(LeadStageChanged)(assign)
    events.on(LeadTouched)(stop_sla_timer)
    events.on(LeadStatusChanged)(stop_sla_timer)
    events.on(LeadErased)(erase_lead)
    # The SQL-to-alert time is measured around the handler, from the committed alert.
    return events.wrapped(metrics.timed_alerts)


__all__ = [
    "assign_lead",
    "cancel_subscription",
    "deactivate_rep",
    "erase_lead",
    "escalate_due_leads",
    "lease_deliveries",
    "lease_email",
    "outbound_of",
    "record_delivery_attempt",
    "record_email_attempt",
    "redeliver",
    "registry",
    "stop_sla_timer",
    "store_agreement",
    "subscribe_webhook",
    "upsert_account",
    "upsert_rep",
]
