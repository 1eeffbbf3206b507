"""The intake app in-process, its lifespan (producer and outbox relay) running."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from leadloop_intake.bootstrap import create_app
from leadloop_intake.config import Settings
from leadloop_platform.settings import CommonSettings

KEY = "llk_intake_tests_key_with_every_scope_000"
HUBSPOT_SECRET = "hubspot-client-secret-for-tests"


@pytest.fixture
def intake_settings(settings: CommonSettings) -> Settings:
    return Settings(
        **settings.model_dump(
            exclude={"service_name", "bootstrap_api_key", "outbox_poll_interval_s", "log_json"}
        ),
        bootstrap_api_key=KEY,
        hubspot_client_secret=HUBSPOT_SECRET,
        outbox_poll_interval_s=0.2,
        log_json=False,
    )


@pytest.fixture
async def client(intake_settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(intake_settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://intake") as c:
            yield c
