"""The lead alert leaves four ways: the event on leads.handoff (always), webhooks to the
subscribed systems, the enabled connectors (CRM owner and task, Slack message) and an email to
the rep. The last three are queued in the same transaction as the assignment and performed by
workers, each at most once per assignment."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from leadloop_events import topics
from leadloop_events.envelope import CloudEvent, EventData, new_event
from leadloop_routing.adapters.mailer import alert_email_bytes, alert_parts
from leadloop_routing.adapters.ports import RoutingUnitOfWork
from leadloop_routing.domain.connectors import Connector, ConnectorDelivery, JobContext
from leadloop_routing.domain.delivery import Delivery, Email
from leadloop_routing.domain.model import Rep

SOURCE = "/leadloop/routing"


@dataclass(frozen=True)
class AlertEmail:
    """One alert email: to whom, about which lead, why, and by when sales must act."""

    key: str  # once per key
    rep: Rep
    lead_id: str
    intelligence: dict[str, Any] | None
    deadline: datetime
    reason: str
    team: str


@dataclass(frozen=True)
class Outbound:
    """Publishes handoff events and queues their webhook and connector deliveries and emails."""

    email_enabled: bool = False
    dashboard_url: str | None = None
    connectors: tuple[Connector, ...] = field(default=())

    async def publish(
        self,
        uow: RoutingUnitOfWork,
        data: EventData,
        lead_id: str,
        correlation_id: str | None,
        at: datetime,
        *,
        context: JobContext | None = None,
    ) -> CloudEvent:
        """Publish a handoff event and queue a delivery to every subscriber of its type and
        to every enabled connector that handles it, with `context` (what routing's state says
        about the event now: connectors read nothing else)."""
        event = new_event(
            data, source=SOURCE, subject=lead_id, correlation_id=correlation_id, time=at
        )
        uow.publish(topics.HANDOFF, event)
        for sub in await uow.repo.active_subscriptions(event.type):
            await uow.repo.queue_delivery(
                Delivery(
                    delivery_id=str(uuid.uuid4()),
                    subscription_id=sub.subscription_id,
                    event_id=event.id,
                    event_type=event.type,
                    lead_id=lead_id,
                    payload=event.to_bytes(),
                    status="pending",
                    attempts=(),
                    next_attempt_at=at,
                    created_at=at,
                )
            )
        await self.queue_connector_jobs(uow, event, lead_id, at, context or JobContext())
        return event

    async def queue_connector_jobs(
        self,
        uow: RoutingUnitOfWork,
        event: CloudEvent,
        lead_id: str,
        at: datetime,
        context: JobContext,
    ) -> None:
        """Queue `event` for every connector that handles its type, once per connector."""
        chosen = [c for c in self.connectors if c.handles(event.type)]
        if not chosen:
            return
        payload, kept = json.loads(event.to_bytes()), context.to_json()
        for connector in chosen:
            await uow.connectors.queue(
                ConnectorDelivery(
                    delivery_id=str(uuid.uuid4()),
                    connector=connector.name,
                    event_id=event.id,
                    event_type=event.type,
                    lead_id=lead_id,
                    payload=payload,
                    status="pending",
                    attempts=(),
                    progress={},
                    next_attempt_at=at,
                    created_at=at,
                    context=kept,
                )
            )

    async def email(self, uow: RoutingUnitOfWork, alert: AlertEmail, at: datetime) -> None:
        """Queue the alert email (once per `alert.key`); nothing when email is off."""
        if not self.email_enabled:
            return
        parts = alert_parts(
            rep_name=alert.rep.name,
            lead=alert.intelligence or {},
            deadline=alert.deadline,
            reason=alert.reason,
            team=alert.team,
            dashboard_url=self.dashboard_url,
        )
        message = alert_email_bytes(alert.rep.email, parts)
        await uow.repo.queue_email(
            Email(
                email_id=str(uuid.uuid4()),
                dedupe_key=alert.key,
                lead_id=alert.lead_id,
                recipient=alert.rep.email,
                message=message,
                status="pending",
                next_attempt_at=at,
                created_at=at,
            )
        )
