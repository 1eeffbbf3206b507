"""The only place that builds feedback's real adapters and wires them to the app."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from leadloop_feedback import handlers
from leadloop_feedback.adapters.tables import outbox, processed_events
from leadloop_feedback.adapters.uow import SqlUnitOfWork
from leadloop_feedback.config import Settings
from leadloop_feedback.domain.crm import CrmRefused
from leadloop_feedback.domain.money import Exchange
from leadloop_feedback.entrypoints.crm_http import router as crm_router
from leadloop_feedback.entrypoints.hubspot_inbox import hubspot_inbox_worker
from leadloop_feedback.entrypoints.inbox_http import router as inbox_router
from leadloop_feedback.entrypoints.pages_http import router as pages_router
from leadloop_feedback.entrypoints.reports_http import router as reports_router
from leadloop_feedback.entrypoints.salesforce_http import router as salesforce_router
from leadloop_feedback.entrypoints.slack_http import router as slack_router
from leadloop_platform.http.problems import problem_response
from leadloop_runtime import Database, Service, build_app


async def _refused(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, CrmRefused)
    return problem_response(
        exc.status, str(exc), kind=exc.kind, instance=request.url.path, errors=exc.errors
    )


def _asleep() -> None:
    """No inbox worker to wake (LEADLOOP_HUBSPOT_ACCESS_TOKEN unset)."""


def create_app(settings: Settings | None = None) -> FastAPI:
    """uvicorn --factory leadloop_feedback.bootstrap:create_app"""
    settings = settings or Settings()
    database = Database("feedback", settings, SqlUnitOfWork, outbox)
    hubspot_inbox, hubspot_loop = hubspot_inbox_worker(database.transactions, settings)
    return build_app(
        Service(
            title="leadloop feedback",
            description="CRM touches, statuses and deals in; closed-loop reports out.",
            settings=settings,
            database=database,
            registry=handlers.registry(settings),
            processed=processed_events,
            consumer_group=settings.consumer_group,
            run_relay=settings.run_relay,
            run_consumer=settings.run_consumer,
            routers=[
                crm_router,
                reports_router,
                pages_router,
                salesforce_router,
                slack_router,
                inbox_router,
            ],
            exception_handlers={CrmRefused: _refused},
            workers=[hubspot_loop] if hubspot_loop else [],
            state={
                "exchange": Exchange(settings.reporting_currency, settings.fx_rates),
                "hubspot_inbox": hubspot_inbox,
                "wake_hubspot_inbox": hubspot_loop.wake if hubspot_loop else _asleep,
            },
        )
    )
