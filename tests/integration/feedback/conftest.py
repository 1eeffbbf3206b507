"""The feedback app in-process (ASGI) on the real broker and Postgres."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from leadloop_feedback.bootstrap import create_app
from leadloop_feedback.config import Settings
from leadloop_platform.settings import CommonSettings

from .support import CRM_SECRET, KEY


@pytest.fixture
async def feedback(settings: CommonSettings) -> AsyncIterator[httpx.AsyncClient]:
    shared = settings.model_dump(
        exclude={"service_name", "bootstrap_api_key", "log_json", "outbox_poll_interval_s"}
    )
    app = create_app(
        Settings(
            **shared,
            bootstrap_api_key=KEY,
            log_json=False,
            outbox_poll_interval_s=0.2,
            crm_webhook_secret=CRM_SECRET,
            fx_rates="USD=0.92",  # EUR is the reporting currency; JPY has no rate
            consumer_group="feedback-test",
        )
    )
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://feedback",
            headers={"authorization": f"Bearer {KEY}"},
        ) as client,
    ):
        yield client
