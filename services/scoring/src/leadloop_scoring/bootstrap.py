"""The only place that builds scoring's real adapters and wires them to the app."""

from __future__ import annotations

import logging

from fastapi import FastAPI

from leadloop_runtime import Database, Service, build_app
from leadloop_scoring.adapters.import_scores import counting_imports
from leadloop_scoring.adapters.tables import outbox, processed_events
from leadloop_scoring.adapters.uow import SqlUnitOfWork
from leadloop_scoring.agreement_handlers import agreement_file_drift, publish_agreement_at_start
from leadloop_scoring.config import Settings
from leadloop_scoring.entrypoints import imports
from leadloop_scoring.entrypoints.http import EXCEPTION_HANDLERS, router
from leadloop_scoring.entrypoints.scheduler import DecayScheduler
from leadloop_scoring.handlers import Context, registry

log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None) -> FastAPI:
    """uvicorn --factory leadloop_scoring.bootstrap:create_app"""
    settings = settings or Settings()
    db = Database("scoring", settings, SqlUnitOfWork, outbox)
    context = Context.of(settings)  # one agreement cache for the consumer and the scheduler
    scheduler = DecayScheduler(
        db.transactions,
        context,
        interval_s=settings.rescore_interval_s,
        batch=settings.rescore_batch,
    )

    async def agreement_in_force() -> None:
        version = await db.transactions.run(publish_agreement_at_start, settings.agreement_file)
        log.info("agreement %s in force", version)
        drift = await db.transactions.run(agreement_file_drift, settings.agreement_file)
        if drift is not None:
            log.warning("%s", drift)

    return build_app(
        Service(
            title="leadloop scoring",
            description="The agreement between sales and marketing, applied to every lead event.",
            settings=settings,
            database=db,
            # A capture of a CSV import is counted where it is scored (the import's progress).
            registry=counting_imports(registry(settings, context=context)),
            processed=processed_events,
            consumer_group=settings.consumer_group,
            run_relay=settings.run_relay,
            run_consumer=settings.run_consumer,
            routers=[router, imports.router],
            workers=[
                *([scheduler.worker] if settings.run_scheduler else []),
                imports.import_scores_retention(db.transactions, settings),
            ],
            on_start=[agreement_in_force],
            exception_handlers=EXCEPTION_HANDLERS,
            state={"scheduler": scheduler, "scheduler_wake": scheduler.wake},
        )
    )
