"""The only place that builds scoring's real adapters and wires them to the app."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from leadloop_contract.agreement import AgreementInvalid
from leadloop_platform.http.problems import problem_response
from leadloop_runtime import Database, Service, build_app
from leadloop_scoring.adapters.tables import outbox, processed_events
from leadloop_scoring.adapters.uow import SqlUnitOfWork
from leadloop_scoring.agreements import (
    CurrentAgreement,
    VersionConflict,
    announce,
    publish_agreement,
)
from leadloop_scoring.config import Settings
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


async def ensure_agreement(uow: SqlUnitOfWork, settings: Settings) -> str:
    """Publish the configured agreement file when no version exists yet; otherwise announce the
    version in force again, so services reading a new or emptied topic learn it (consumers
    store versions idempotently). Returns the version in force."""
    current = await uow.repo.current_agreement()
    if current is None:
        text = settings.agreement_file.read_text()
        current, _ = await publish_agreement(uow, text, published_by="startup")
    else:
        announce(uow, current)
    return current.version


def create_app(settings: Settings | None = None) -> FastAPI:
    """uvicorn --factory leadloop_scoring.bootstrap:create_app"""
    settings = settings or Settings()
    db = Database("scoring", settings, SqlUnitOfWork, outbox)
    scoring = Scoring(CurrentAgreement(), settings.timeline_limit, settings.activity_history_limit)
    scheduler = DecayScheduler(
        scoring,
        db.transactions,
        interval_s=settings.rescore_interval_s,
        batch=settings.rescore_batch,
    )

    async def agreement_in_force() -> None:
        version = await db.transactions.run(ensure_agreement, settings)
        log.info("agreement %s in force", version)

    return build_app(
        Service(
            title="leadloop scoring",
            description="The agreement between sales and marketing, applied to every lead event.",
            settings=settings,
            database=db,
            registry=scoring.registry(),
            processed=processed_events,
            consumer_group=settings.consumer_group,
            run_relay=settings.run_relay,
            run_consumer=settings.run_consumer,
            routers=[router],
            workers=[scheduler.worker] if settings.run_scheduler else [],
            on_start=[agreement_in_force],
            exception_handlers={
                AgreementInvalid: _invalid_agreement,
                VersionConflict: _version_conflict,
            },
            state={"scoring": scoring, "scheduler": scheduler, "scheduler_wake": scheduler.wake},
        )
    )
