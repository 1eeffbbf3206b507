"""The only place that builds intake's real adapters and wires them to the app."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from leadloop_intake import handlers, metrics
from leadloop_intake.adapters.tables import outbox
from leadloop_intake.adapters.uow import SqlUnitOfWork
from leadloop_intake.config import Settings
from leadloop_intake.domain import errors
from leadloop_intake.entrypoints import hubspot_events
from leadloop_intake.entrypoints.http import router
from leadloop_intake.entrypoints.import_writers import ImportWriters
from leadloop_platform.http.problems import problem_response
from leadloop_runtime import Database, GroupCommit, Service, build_app

DOMAIN_ERRORS: dict[type[errors.IntakeError], tuple[int, str]] = {
    errors.LeadNotFound: (404, "lead-not-found"),
    errors.ImportNotFound: (404, "import-not-found"),
    errors.ImportStopped: (409, "import-stopped"),
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
    writers = ImportWriters()
    database = Database("intake", settings, SqlUnitOfWork, outbox)
    group = GroupCommit(
        database.transactions,
        max_calls=settings.commit_group_max,
        concurrency=settings.commit_group_concurrency,
        observe=metrics.COMMIT_GROUP_CALLS.observe,
    )
    return build_app(
        Service(
            title="leadloop intake",
            description="Form fills, HubSpot webhooks, activities and CSV imports in; "
            "lead events out on leads.intake.",
            settings=settings,
            database=database,
            registry=handlers.registry(settings),
            run_relay=settings.run_relay,
            routers=[router, hubspot_events.router],
            body_limits={
                "/v1/imports": settings.max_import_bytes,
                "/v1/activities": settings.max_activities_bytes,
            },
            exception_handlers={errors.IntakeError: _domain_error},
            workers=[writers],
            state={"import_writers": writers, "commit_group": group},
        )
    )
