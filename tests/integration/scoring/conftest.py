"""Intake and scoring in-process, each with its own lifespan (relay, consumer, scheduler)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
from fastapi import FastAPI

from leadloop_intake.bootstrap import create_app as create_intake
from leadloop_intake.config import Settings as IntakeSettings
from leadloop_platform.settings import CommonSettings
from leadloop_scoring.bootstrap import create_app as create_scoring
from leadloop_scoring.config import Settings as ScoringSettings

KEY = "llk_scoring_tests_key_with_every_scope_00"
SHARED_EXCLUDE = {"service_name", "bootstrap_api_key", "outbox_poll_interval_s", "log_json"}


@dataclass
class Loop:
    intake: httpx.AsyncClient
    scoring: httpx.AsyncClient
    scoring_app: FastAPI


@pytest.fixture
async def loop(settings: CommonSettings) -> AsyncIterator[Loop]:
    shared = settings.model_dump(exclude=SHARED_EXCLUDE) | {
        "bootstrap_api_key": KEY,
        "outbox_poll_interval_s": 0.2,
        "log_json": False,
        "consumer_retry_backoff_s": 0.01,
    }
    intake_app = create_intake(IntakeSettings(**shared))
    scoring_app = create_scoring(ScoringSettings(**shared, consumer_group="scoring-test"))
    auth = {"authorization": f"Bearer {KEY}"}
    async with (
        intake_app.router.lifespan_context(intake_app),
        scoring_app.router.lifespan_context(scoring_app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=intake_app),
            base_url="http://intake",
            headers=auth,
        ) as intake,
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=scoring_app),
            base_url="http://scoring",
            headers=auth,
        ) as scoring,
    ):
        yield Loop(intake, scoring, scoring_app)
