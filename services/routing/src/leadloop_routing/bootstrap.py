"""The only place that builds routing's real adapters and wires them to the app."""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import AsyncIterator

from aiokafka import AIOKafkaProducer
from fastapi import FastAPI

from leadloop_db.engine import make_engine
from leadloop_events import topics
from leadloop_messaging.consumer import ConsumerLoop
from leadloop_messaging.kafka import BrokerCheck, make_consumer, make_producer
from leadloop_messaging.relay import OutboxRelay
from leadloop_platform.http.app import create_app as create_base_app
from leadloop_platform.http.app import database_check
from leadloop_platform.logs import configure_logging
from leadloop_platform.tasks import TaskSupervisor
from leadloop_routing.adapters.mailer import SmtpSettings
from leadloop_routing.adapters.tables import outbox, processed_events
from leadloop_routing.adapters.uow import SqlUnitOfWork
from leadloop_routing.alerts import Outbound
from leadloop_routing.config import Settings
from leadloop_routing.entrypoints.http import router
from leadloop_routing.entrypoints.workers import AlertEmails, SlaTimers, WebhookDeliveries, Worker
from leadloop_routing.handlers import Routing


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


def create_app(settings: Settings | None = None) -> FastAPI:
    """uvicorn --factory leadloop_routing.bootstrap:create_app"""
    settings = settings or Settings()
    configure_logging(settings.service_name, settings.log_level, settings.log_json)
    engine = make_engine(settings.database_url, application_name="leadloop-routing")
    uow_factory = functools.partial(SqlUnitOfWork, engine, outbox, settings.topic_prefix)
    smtp = smtp_settings(settings)
    routing = Routing(
        Outbound(email_enabled=smtp is not None, dashboard_url=settings.dashboard_url)
    )
    sla = SlaTimers(routing, uow_factory, settings.worker_batch)
    outbound = settings.outbound_policy()
    webhooks = WebhookDeliveries(
        uow_factory, settings.worker_batch, outbound, settings.webhook_concurrency
    )
    mails = AlertEmails(uow_factory, smtp, settings.worker_batch)
    workers = [
        Worker("sla", sla.run_once, settings.sla_interval_s),
        Worker("webhooks", webhooks.run_once, settings.delivery_interval_s),
        Worker("emails", mails.run_once, settings.delivery_interval_s),
    ]
    producers: list[AIOKafkaProducer] = []

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        producer = make_producer(settings)
        await producer.start()
        producers.append(producer)
        relay = OutboxRelay(
            service=settings.service_name,
            engine=engine,
            database_url=settings.database_url,
            outbox=outbox,
            producer=producer,
            poll_interval_s=settings.outbox_poll_interval_s,
            batch_size=settings.outbox_batch_size,
        )
        consumer = make_consumer(
            settings,
            settings.topic(topics.LIFECYCLE),
            settings.topic(topics.FEEDBACK),
            settings.topic(topics.INTAKE),
            group_id=settings.consumer_group,
        )
        loop = ConsumerLoop(
            service=settings.service_name,
            consumer_name=settings.consumer_group,
            consumer=consumer,
            dlq_producer=producer,
            uow_factory=uow_factory,
            processed=processed_events,
            handlers=routing.registry(),
            max_retries=settings.consumer_max_retries,
            retry_backoff_s=settings.consumer_retry_backoff_s,
            batch_size=settings.consumer_batch_size,
        )
        tasks: TaskSupervisor = app.state.tasks
        background: list[asyncio.Task[None]] = []
        if settings.run_consumer:
            await consumer.start()
            background.append(tasks.start("consumer", loop.run()))
        if settings.run_workers:
            background += [tasks.start(w.name, w.run()) for w in workers]
        relay_task = tasks.start("relay", relay.run()) if settings.run_relay else None
        app.state.relay = relay
        try:
            yield
        finally:
            loop.stop()
            for worker in workers:
                worker.stop()
            for task in background:
                await task
            await consumer.stop()  # also when never started: it holds a client to close
            relay.stop()
            if relay_task is not None:
                await relay_task
            producers.remove(producer)
            await producer.stop()

    app = create_base_app(
        title="leadloop routing",
        description="The right rep within seconds, the lead alert, and SLA timers that escalate.",
        settings=settings,
        engine=engine,
        routers=[router],
        ready_checks={"postgres": database_check(engine), "broker": BrokerCheck(producers)},
        lifespan=lifespan,
    )
    app.state.uow = uow_factory
    app.state.routing = routing
    app.state.sla = sla
    app.state.webhooks = webhooks
    app.state.outbound = outbound
    app.state.emails = mails
    app.state.wake_deliveries = workers[1].wake
    return app
