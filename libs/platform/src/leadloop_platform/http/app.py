"""The app factory every service uses: problems, limits, metrics, health and readiness."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from typing import Any

from fastapi import APIRouter, FastAPI, Response
from prometheus_client import make_asgi_app
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from leadloop_platform.auth.cache import AuthCache
from leadloop_platform.auth.revocation import listen_for_revocations
from leadloop_platform.http.docs import install_docs
from leadloop_platform.http.middleware import EdgeMiddleware
from leadloop_platform.http.openapi import Health, Readiness, document_edge
from leadloop_platform.http.problems import install_problem_handlers, problem_response
from leadloop_platform.settings import CommonSettings
from leadloop_platform.tasks import TaskSupervisor

log = logging.getLogger(__name__)
ReadyCheck = Callable[[], Awaitable[None]]
Lifespan = Callable[[FastAPI], contextlib.AbstractAsyncContextManager[None]]
READY_TIMEOUT_S = 3.0


def database_check(engine: AsyncEngine) -> ReadyCheck:
    """Readiness: Postgres answers a query."""

    async def check() -> None:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    return check


def create_app(
    *,
    title: str,
    settings: CommonSettings,
    engine: AsyncEngine,
    routers: Sequence[APIRouter],
    ready_checks: Mapping[str, ReadyCheck],
    lifespan: Lifespan | None = None,
    body_limits: Mapping[str, int] | None = None,
    description: str = "",
) -> FastAPI:
    """Build a service's FastAPI app with the shared edge behaviour.

    The lifespan starts its background tasks through `app.state.tasks` (a `TaskSupervisor`).
    """
    tasks = TaskSupervisor(settings.service_name, stop_delay_s=settings.task_failure_stop_delay_s)
    auth_cache = AuthCache()
    revocations_listening = asyncio.Event()
    run = _edge_lifespan(
        settings, engine, tasks, auth_cache, revocations_listening, service_lifespan=lifespan
    )
    app = FastAPI(
        title=title,
        description=description,
        version="0.1.0",
        lifespan=run,
        docs_url=None,  # /docs and /redoc come from packaged assets (install_docs)
        redoc_url=None,
        generate_unique_id_function=lambda route: route.name,  # operation id: the function's
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.auth_cache = auth_cache
    app.state.revocations_listening = revocations_listening
    app.state.tasks = tasks
    install_problem_handlers(app)
    _install_middleware(app, settings, body_limits or {})
    for router in routers:
        app.include_router(router)
    _add_operations_routes(app, tasks, ready_checks)
    install_docs(app)
    document_edge(app)
    return app


def _edge_lifespan(
    settings: CommonSettings,
    engine: AsyncEngine,
    tasks: TaskSupervisor,
    auth_cache: AuthCache,
    revocations_listening: asyncio.Event,
    *,
    service_lifespan: Lifespan | None,
) -> Lifespan:
    """The app's lifespan: the revocation listener around the service's own lifespan."""

    @contextlib.asynccontextmanager
    async def run(app: FastAPI) -> AsyncIterator[None]:
        revocations = tasks.start(
            "auth-revocations",
            listen_for_revocations(settings.database_url, auth_cache, revocations_listening),
        )
        try:
            if service_lifespan is None:
                yield
            else:
                async with service_lifespan(app):
                    try:
                        yield
                    finally:
                        tasks.stopping()  # before the lifespan stops its tasks
        finally:
            revocations.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await revocations
        await engine.dispose()

    return run


def _install_middleware(
    app: FastAPI, settings: CommonSettings, body_limits: Mapping[str, int]
) -> None:
    """Correlation id, metrics, header and body limits, security headers: one middleware."""
    app.add_middleware(
        EdgeMiddleware,
        service=settings.service_name,
        default_limit=settings.max_body_bytes,
        limits=body_limits,
    )


def _add_operations_routes(
    app: FastAPI, tasks: TaskSupervisor, ready_checks: Mapping[str, ReadyCheck]
) -> None:
    """/healthz, /readyz and /metrics."""

    def task_died() -> Response | None:
        dead = tasks.problem()
        return None if dead is None else problem_response(503, dead, kind="background-task-died")

    @app.get(
        "/healthz",
        response_model=Health,
        tags=["operations"],
        summary="The process is alive and its background tasks run",
        responses={503: {"description": "a background task died; the process is stopping"}},
    )
    async def healthz() -> Any:
        return task_died() or {"status": "ok"}

    @app.get(
        "/readyz",
        response_model=Readiness,
        tags=["operations"],
        summary="Postgres and the broker answer",
        responses={503: {"description": "a dependency does not answer or a background task died"}},
    )
    async def readyz() -> Any:
        if (died := task_died()) is not None:
            return died
        results = await _run_ready_checks(ready_checks)
        failing = {k: v for k, v in results.items() if v != "ok"}
        if failing:
            return problem_response(
                503,
                "not ready: " + "; ".join(f"{k} {v}" for k, v in failing.items()),
                kind="not-ready",
            )
        return {"status": "ready", "checks": results}

    # prometheus_client's own ASGI app: OpenMetrics when the scraper asks for it, gzip when it
    # accepts it (an ASGI endpoint, so it answers exactly as the library does).
    app.router.routes.append(Route("/metrics", PrometheusEndpoint(), methods=["GET"]))


class PrometheusEndpoint:
    """`GET /metrics`: the process's metrics through `prometheus_client.make_asgi_app`."""

    def __init__(self) -> None:
        self.app = make_asgi_app()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)


async def _run_ready_checks(ready_checks: Mapping[str, ReadyCheck]) -> dict[str, str]:
    """Each check's result: "ok" or why it fails, each bounded by READY_TIMEOUT_S."""
    results: dict[str, str] = {}
    for name, check in ready_checks.items():
        try:
            await asyncio.wait_for(check(), READY_TIMEOUT_S)
            results[name] = "ok"
        except Exception as exc:  # noqa: BLE001 - a readiness probe reports, it never raises
            results[name] = f"failing: {type(exc).__name__}: {exc}"[:300]
    return results
