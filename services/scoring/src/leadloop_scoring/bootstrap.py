"""The only place that builds scoring's real adapters and wires them to the app."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import AsyncIterator

from aiokafka import AIOKafkaProducer
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from leadloop_db.engine import make_engine
from leadloop_events import topics
from leadloop_messaging.consumer import ConsumerLoop
from leadloop_messaging.kafka import BrokerCheck, make_consumer, make_producer
from leadloop_messaging.relay import OutboxRelay
from leadloop_platform.http.app import create_app as create_base_app
from leadloop_platform.http.app import database_check
from leadloop_platform.http.problems import problem_response
from leadloop_platform.logs import configure_logging
from leadloop_platform.tasks import TaskSupervisor
from leadloop_scoring.adapters.tables import outbox, processed_events
from leadloop_scoring.adapters.uow import SqlUnitOfWork
from leadloop_scoring.agreements import (
    CurrentAgreement,
    VersionConflict,
    announce,
    publish_agreement,
)
from leadloop_scoring.config import Settings
from leadloop_scoring.domain.agreement import AgreementInvalid
from leadloop_scoring.entrypoints.http import router
from leadloop_scoring.entrypoints.scheduler import DecayScheduler
from leadloop_scoring.handlers import Scoring

log = logging.getLogger(__name__)


async def _invalid_agreement(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, AgreementInvalid)
    errors = [
        {
            "field": e["path"],
            "pointer": "/" + e["path"].replace(".", "/"),
            "message": e["reason"],
            "code": "invalid",
        }
        for e in exc.errors
    ]
    return problem_response(
        422,
        f"the agreement is invalid: {len(errors)} error(s)",
        kind="invalid-agreement",
        instance=request.url.path,
        errors=errors,
    )


async def _version_conflict(request: Request, exc: Exception) -> JSONResponse:
    return problem_response(
        409, str(exc), kind="agreement-version-exists", instance=request.url.path
    )


async def ensure_agreement(
    uow_factory: functools.partial[SqlUnitOfWork], settings: Settings
) -> None:
    """Publish the configured agreement file when no version exists yet; otherwise announce the
    version in force again, so services reading a new or emptied topic learn it (consumers
    store versions idempotently)."""
    async with uow_factory() as uow:
        current = await uow.repo.current_agreement()
        if current is None:
            text = settings.agreement_file.read_text()
            current, _ = await publish_agreement(uow, text, published_by="startup")
        else:
            announce(uow, current)
        await uow.commit()
    log.info("agreement %s in force", current.version)


def create_app(settings: Settings | None = None) -> FastAPI:
    """uvicorn --factory leadloop_scoring.bootstrap:create_app"""
    settings = settings or Settings()
    configure_logging(settings.service_name, settings.log_level, settings.log_json)
    engine = make_engine(settings.database_url, application_name="leadloop-scoring")
    uow_factory = functools.partial(SqlUnitOfWork, engine, outbox, settings.topic_prefix)
    scoring = Scoring(CurrentAgreement(), settings.timeline_limit, settings.activity_history_limit)
    scheduler = DecayScheduler(
        scoring, uow_factory, interval_s=settings.rescore_interval_s, batch=settings.rescore_batch
    )
    producers: list[AIOKafkaProducer] = []

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        producer = make_producer(settings)
        await producer.start()
        producers.append(producer)
        await ensure_agreement(uow_factory, settings)
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
            settings.topic(topics.INTAKE),
            settings.topic(topics.FEEDBACK),
            group_id=settings.consumer_group,
        )
        loop = ConsumerLoop(
            service=settings.service_name,
            consumer_name=settings.consumer_group,
            consumer=consumer,
            dlq_producer=producer,
            uow_factory=uow_factory,
            processed=processed_events,
            handlers=scoring.registry(),
            max_retries=settings.consumer_max_retries,
            retry_backoff_s=settings.consumer_retry_backoff_s,
            batch_size=settings.consumer_batch_size,
        )
        supervisor: TaskSupervisor = app.state.tasks
        tasks: list[asyncio.Task[None]] = []
        if settings.run_relay:
            tasks.append(supervisor.start("relay", relay.run()))
        if settings.run_consumer:
            await consumer.start()
            tasks.append(supervisor.start("consumer", loop.run()))
        if settings.run_scheduler:
            tasks.append(supervisor.start("decay", scheduler.run()))
        app.state.consumer_loop = loop
        app.state.relay = relay
        try:
            yield
        finally:
            loop.stop()
            scheduler.stop()
            for task in tasks:
                if task.get_name() != "relay":
                    await task
            await consumer.stop()  # also when never started: it holds a client to close
            relay.stop()
            for task in tasks:
                if task.get_name() == "relay":
                    await task
            producers.remove(producer)
            await producer.stop()

    app = create_base_app(
        title="leadloop scoring",
        description="The agreement between sales and marketing, applied to every lead event.",
        settings=settings,
        engine=engine,
        routers=[router],
        ready_checks={"postgres": database_check(engine), "broker": BrokerCheck(producers)},
        lifespan=lifespan,
    )
    app.state.uow = uow_factory
    app.state.scoring = scoring
    app.state.scheduler = scheduler
    app.state.scheduler_wake = scheduler.wake
    app.add_exception_handler(AgreementInvalid, _invalid_agreement)
    app.add_exception_handler(VersionConflict, _version_conflict)
    return app
