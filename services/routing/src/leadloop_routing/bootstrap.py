"""The only place that builds routing's real adapters and wires them to the app."""

from __future__ import annotations

from collections.abc import Mapping

from fastapi import FastAPI

from leadloop_routing.adapters.connectors import ConnectorFactory, build_connectors
from leadloop_routing.adapters.mailer import SmtpSettings
from leadloop_routing.adapters.tables import outbox, processed_events
from leadloop_routing.adapters.uow import SqlUnitOfWork
from leadloop_routing.config import Settings
from leadloop_routing.entrypoints.connector_workers import ConnectorDeliveries
from leadloop_routing.entrypoints.http import router
from leadloop_routing.entrypoints.reps_sync import reps_sync_worker
from leadloop_routing.entrypoints.workers import (
    RETRIED,
    AlertEmails,
    SlaTimers,
    WebhookDeliveries,
)
from leadloop_routing.handlers import outbound_of, registry
from leadloop_runtime import Database, Periodic, Service, build_app


def smtp_settings(settings: Settings) -> SmtpSettings | None:
    """SMTP from the environment; None (email off) when no host is set."""
    if not settings.smtp_host:
        return None
    return SmtpSettings(
        host=settings.smtp_host,
        port=settings.smtp_port,
        starttls=settings.smtp_starttls,
        use_tls=settings.smtp_tls,
        username=settings.smtp_username,
        password=settings.smtp_password.get_secret_value() if settings.smtp_password else None,
        sender=settings.smtp_sender,
    )


def create_app(
    settings: Settings | None = None, connectors: Mapping[str, ConnectorFactory] | None = None
) -> FastAPI:
    """uvicorn --factory leadloop_routing.bootstrap:create_app (`connectors`: the vendor
    connector factories by name, adapters.connectors.CONNECTORS unless given)"""
    settings = settings or Settings()
    db = Database("routing", settings, SqlUnitOfWork, outbox)
    smtp = smtp_settings(settings)
    enabled = build_connectors(settings, connectors)
    alerts = outbound_of(settings, enabled)
    sla = SlaTimers(alerts, db.transactions, settings.worker_batch)
    outbound = settings.outbound_policy()
    webhooks = WebhookDeliveries(
        db.transactions, settings.worker_batch, outbound, settings.webhook_concurrency
    )
    mails = AlertEmails(db.transactions, smtp, settings.worker_batch)
    jobs = ConnectorDeliveries(
        db.transactions,
        enabled,
        settings.worker_batch,
        settings.connector_concurrency,
        settings.connector_timeout_s,
    )
    deliveries = Periodic(
        "webhooks", webhooks.run_once, settings.delivery_interval_s, retry_on=RETRIED
    )
    connector_loop = Periodic(
        "connectors", jobs.run_once, settings.connector_interval_s, retry_on=RETRIED
    )
    reps_sync, reps_sync_loop = reps_sync_worker(db.transactions, settings)
    workers = [
        *([reps_sync_loop] if reps_sync_loop else []),
        Periodic("sla", sla.run_once, settings.sla_interval_s, retry_on=RETRIED),
        deliveries,
        Periodic("emails", mails.run_once, settings.delivery_interval_s, retry_on=RETRIED),
        *([connector_loop] if enabled else []),
    ]
    return build_app(
        Service(
            title="leadloop routing",
            description="The right rep within seconds, the lead alert, "
            "and SLA timers that escalate.",
            settings=settings,
            database=db,
            registry=registry(settings, alerts),
            processed=processed_events,
            consumer_group=settings.consumer_group,
            run_relay=settings.run_relay,
            run_consumer=settings.run_consumer,
            routers=[router],
            workers=workers if settings.run_workers else [],
            state={
                "sla": sla,
                "reps_sync": reps_sync,
                "webhooks": webhooks,
                "outbound": outbound,
                "emails": mails,
                "wake_deliveries": deliveries.wake,
                "connectors": jobs,
                "wake_connectors": connector_loop.wake,
            },
        )
    )
