"""The only place that builds feedback's real adapters and wires them to the app."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import AsyncIterator

from aiokafka import AIOKafkaProducer
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from leadloop_db.engine import make_engine
from leadloop_events import topics
from leadloop_feedback.adapters.tables import outbox, processed_events
from leadloop_feedback.adapters.uow import SqlUnitOfWork
from leadloop_feedback.config import Settings
from leadloop_feedback.crm import CrmRefused
from leadloop_feedback.domain.money import Exchange
from leadloop_feedback.entrypoints.crm_http import router as crm_router
from leadloop_feedback.entrypoints.pages_http import router as pages_router
from leadloop_feedback.entrypoints.reports_http import router as reports_router
from leadloop_feedback.projection import REGISTRY
from leadloop_messaging.consumer import ConsumerLoop
from leadloop_messaging.kafka import BrokerCheck, make_consumer, make_producer
from leadloop_messaging.relay import OutboxRelay
from leadloop_platform.http.app import create_app as create_base_app
from leadloop_platform.http.app import database_check
from leadloop_platform.http.problems import problem_response
from leadloop_platform.logs import configure_logging
from leadloop_platform.tasks import TaskSupervisor


async def _refused(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, CrmRefused)
    return problem_response(
        exc.status, str(exc), kind=exc.kind, instance=request.url.path, errors=exc.errors
    )


def create_app(settings: Settings | None = None) -> FastAPI:
    """uvicorn --factory leadloop_feedback.bootstrap:create_app"""
    settings = settings or Settings()
    configure_logging(settings.service_name, settings.log_level, settings.log_json)
    engine = make_engine(settings.database_url, application_name="leadloop-feedback")
    uow_factory = functools.partial(SqlUnitOfWork, engine, outbox, settings.topic_prefix)
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
            settings, *(settings.topic(t) for t in topics.ALL), group_id=settings.consumer_group
        )
        loop = ConsumerLoop(
            service=settings.service_name,
            consumer_name=settings.consumer_group,
            consumer=consumer,
            dlq_producer=producer,
            uow_factory=uow_factory,
            processed=processed_events,
            handlers=REGISTRY,
            max_retries=settings.consumer_max_retries,
            retry_backoff_s=settings.consumer_retry_backoff_s,
            batch_size=settings.consumer_batch_size,
        )
        tasks: TaskSupervisor = app.state.tasks
        consumer_task = None
        if settings.run_consumer:
            await consumer.start()
            consumer_task = tasks.start("consumer", loop.run())
        relay_task = tasks.start("relay", relay.run()) if settings.run_relay else None
        app.state.relay = relay
        try:
            yield
        finally:
            loop.stop()
            if consumer_task is not None:
                await consumer_task
                await consumer.stop()
            relay.stop()
            if relay_task is not None:
                await relay_task
            producers.remove(producer)
            await producer.stop()

    app = create_base_app(
        title="leadloop feedback",
        description="CRM touches, statuses and deals in; closed-loop reports out.",
        settings=settings,
        engine=engine,
        routers=[crm_router, reports_router, pages_router],
        ready_checks={"postgres": database_check(engine), "broker": BrokerCheck(producers)},
        lifespan=lifespan,
    )
    app.state.uow = uow_factory
    app.state.exchange = Exchange(settings.reporting_currency, settings.fx_rates)
    app.add_exception_handler(CrmRefused, _refused)
    return app
