"""The only place that builds intake's real adapters and wires them to the app."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import AsyncIterator

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from leadloop_db.engine import make_engine
from leadloop_intake.adapters.tables import outbox
from leadloop_intake.adapters.uow import SqlUnitOfWork
from leadloop_intake.config import Settings
from leadloop_intake.domain import errors
from leadloop_intake.entrypoints.http import router
from leadloop_messaging.kafka import BrokerCheck, make_producer
from leadloop_messaging.relay import OutboxRelay
from leadloop_platform.http.app import create_app as create_base_app
from leadloop_platform.http.app import database_check
from leadloop_platform.http.problems import problem_response
from leadloop_platform.logs import configure_logging
from leadloop_platform.tasks import TaskSupervisor

DOMAIN_ERRORS: dict[type[errors.IntakeError], tuple[int, str]] = {
    errors.LeadNotFound: (404, "lead-not-found"),
    errors.LeadErased: (410, "lead-erased"),
    errors.UnknownLeads: (422, "unknown-lead"),
    errors.IdempotencyKeyReused: (422, "idempotency-key-reused"),
    errors.SignatureRejected: (401, "invalid-signature"),
    errors.NotConfigured: (503, "not-configured"),
}


async def _domain_error(request: Request, exc: Exception) -> JSONResponse:
    status, kind = next(
        (v for t, v in DOMAIN_ERRORS.items() if isinstance(exc, t)), (400, "bad-request")
    )
    found = exc.errors if isinstance(exc, errors.UnknownLeads) else ()
    return problem_response(status, str(exc), kind=kind, instance=request.url.path, errors=found)


def create_app(settings: Settings | None = None) -> FastAPI:
    """uvicorn --factory leadloop_intake.bootstrap:create_app"""
    settings = settings or Settings()
    configure_logging(settings.service_name, settings.log_level, settings.log_json)
    engine = make_engine(settings.database_url, application_name="leadloop-intake")
    producers = []

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
        tasks: TaskSupervisor = app.state.tasks
        task = tasks.start("relay", relay.run()) if settings.run_relay else None
        app.state.relay = relay
        try:
            yield
        finally:
            relay.stop()
            if task is not None:
                await task
            producers.remove(producer)
            await producer.stop()

    app = create_base_app(
        title="leadloop intake",
        description="Form fills, HubSpot webhooks, activities and CSV imports in; "
        "lead events out on leads.intake.",
        settings=settings,
        engine=engine,
        routers=[router],
        ready_checks={"postgres": database_check(engine), "broker": BrokerCheck(producers)},
        lifespan=lifespan,
        body_limits={
            "/v1/imports": settings.max_import_bytes,
            "/v1/activities": settings.max_activities_bytes,
        },
    )
    app.state.uow = functools.partial(SqlUnitOfWork, engine, outbox, settings.topic_prefix)
    app.add_exception_handler(errors.IntakeError, _domain_error)
    return app
