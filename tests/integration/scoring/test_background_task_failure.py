"""A background task that dies for real makes scoring unhealthy and ask to be restarted.

The decay scheduler retries what it expects (the database away, no agreement yet); a lead row
this version cannot read is not among those. Such a row is what a rollback leaves behind: a
newer version stored profiles with a field this one does not know (LeadProfile forbids extras).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from fastapi import FastAPI
from prometheus_client import REGISTRY
from sqlalchemy.ext.asyncio import AsyncEngine

from leadloop_platform.settings import CommonSettings
from leadloop_scoring.adapters.tables import leads
from leadloop_scoring.bootstrap import create_app
from leadloop_scoring.config import Settings

from ...waiting import wait_for
from .conftest import KEY, SHARED_EXCLUDE

pytestmark = pytest.mark.integration


def decay_failures(service: str) -> float:
    value = REGISTRY.get_sample_value(
        "leadloop_background_task_failures_total", {"service": service, "task": "decay"}
    )
    return value or 0.0


@pytest.fixture
def scoring_app(settings: CommonSettings) -> FastAPI:
    shared = settings.model_dump(exclude=SHARED_EXCLUDE | {"task_failure_stop_delay_s"})
    return create_app(
        Settings(
            **shared,
            bootstrap_api_key=KEY,
            log_json=False,
            consumer_group="scoring-decay-dies",
            task_failure_stop_delay_s=0,
        )
    )


@pytest.fixture
async def http(scoring_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with (
        scoring_app.router.lifespan_context(scoring_app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=scoring_app), base_url="http://scoring"
        ) as client,
    ):
        yield client


async def test_a_decay_round_that_raises_makes_healthz_503_and_stops_the_process(
    scoring_app: FastAPI, http: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    stops: list[str] = []
    scoring_app.state.tasks.stop_process = lambda: stops.append("SIGTERM")
    service = scoring_app.state.settings.service_name
    before = decay_failures(service)
    assert (await http.get("/healthz")).status_code == 200

    now = datetime.now(UTC)
    async with engine.begin() as conn:
        await conn.execute(
            leads.insert().values(
                lead_id="lead-from-a-newer-version",
                profile={"email": "ana@acme-dental.com", "linkedin_url": "https://example.org"},
                stage="mql",
                stage_changed_at=now,
                next_rescore_at=now - timedelta(minutes=1),
                updated_at=now,
            )
        )
    scoring_app.state.scheduler_wake()

    async def reported() -> bool:
        return (await http.get("/healthz")).status_code == 503

    await wait_for(reported, timeout_s=10, what="/healthz to report the dead decay task")
    for path in ("/healthz", "/readyz"):
        r = await http.get(path)
        assert r.status_code == 503, r.text
        assert r.headers["content-type"] == "application/problem+json"
        assert "decay: ValidationError" in r.json()["detail"]

    async def stop_asked() -> bool:
        return bool(stops)

    await wait_for(stop_asked, timeout_s=5, what="the process to be asked to stop")
    assert stops == ["SIGTERM"]
    assert decay_failures(service) == before + 1
