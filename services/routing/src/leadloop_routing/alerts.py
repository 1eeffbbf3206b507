"""The lead alert leaves three ways: the event on leads.handoff (always), webhooks to the
subscribed systems, and an email to the rep. The last two are queued in the same transaction
as the assignment and sent by workers, each at most once per assignment."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from leadloop_events import topics
from leadloop_events.envelope import CloudEvent, EventData, new_event
from leadloop_routing.adapters.mailer import build_alert_email
from leadloop_routing.adapters.repository import SqlRepository
from leadloop_routing.domain.model import Rep

SOURCE = "/leadloop/routing"


class Outbound:
    """Publishes handoff events and queues their webhook deliveries and emails."""

    def __init__(self, *, email_enabled: bool, dashboard_url: str | None = None) -> None:
        self.email_enabled = email_enabled
        self.dashboard_url = dashboard_url

    async def publish(
        self, uow: Any, data: EventData, lead_id: str, correlation_id: str | None, at: datetime
    ) -> CloudEvent:
        event = new_event(
            data, source=SOURCE, subject=lead_id, correlation_id=correlation_id, time=at
        )
        uow.publish(topics.HANDOFF, event)
        repo: SqlRepository = uow.repo
        for sub in await repo.active_subscriptions(event.type):
            await repo.queue_delivery(
                {
                    "delivery_id": str(uuid.uuid4()),
                    "subscription_id": sub.subscription_id,
                    "event_id": event.id,
                    "event_type": event.type,
                    "lead_id": lead_id,
                    "payload": event.to_bytes(),
                    "status": "pending",
                    "attempts": [],
                    "next_attempt_at": at,
                    "created_at": at,
                }
            )
        return event

    async def email_rep(
        self,
        uow: Any,
        *,
        key: str,
        rep: Rep,
        lead_id: str,
        intelligence: dict[str, Any] | None,
        deadline: datetime,
        reason: str,
        team: str,
        at: datetime,
    ) -> None:
        """Queue the alert email to the rep (once per `key`)."""
        if not self.email_enabled:
            return
        message = build_alert_email(
            to=rep.email,
            rep_name=rep.name,
            lead=intelligence or {},
            deadline=deadline,
            reason=reason,
            team=team,
            dashboard_url=self.dashboard_url,
        )
        await uow.repo.queue_email(
            {
                "email_id": str(uuid.uuid4()),
                "dedupe_key": key,
                "lead_id": lead_id,
                "recipient": rep.email,
                "message": message.as_bytes(),
                "status": "pending",
                "next_attempt_at": at,
                "created_at": at,
            }
        )
