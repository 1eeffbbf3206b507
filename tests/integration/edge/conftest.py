"""The four services built in-process on this test's database and topics, one way for every edge
test: the bootstrap key, the HubSpot and CRM signing secrets, fast relay and consumer loops."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
from fastapi import FastAPI

from leadloop_feedback.bootstrap import create_app as create_feedback
from leadloop_feedback.config import Settings as FeedbackSettings
from leadloop_intake.bootstrap import create_app as create_intake
from leadloop_intake.config import Settings as IntakeSettings
from leadloop_platform.settings import CommonSettings
from leadloop_routing.bootstrap import create_app as create_routing
from leadloop_routing.config import Settings as RoutingSettings
from leadloop_scoring.bootstrap import create_app as create_scoring
from leadloop_scoring.config import Settings as ScoringSettings

KEY = "llk_edge_tests_key_with_every_scope_00000"
AUTH = {"authorization": f"Bearer {KEY}"}
HUBSPOT_SECRET = "hubspot-client-secret-for-edge-tests"
CRM_SECRET = "whsec_" + "ZWRnZS10ZXN0cy1jcm0tc2lnbmluZy1zZWNyZXQtMDE="
SERVICES = ("intake", "scoring", "routing", "feedback")
SHARED_EXCLUDE = {"service_name", "bootstrap_api_key", "outbox_poll_interval_s", "log_json"}


OWN: dict[str, dict[str, Any]] = {
    "intake": {"hubspot_client_secret": HUBSPOT_SECRET},
    "scoring": {"consumer_group": "scoring-edge"},
    "routing": {"consumer_group": "routing-edge", "sla_interval_s": 3600},
    "feedback": {
        "consumer_group": "feedback-edge",
        "crm_webhook_secret": CRM_SECRET,
        # The integrations configured, so their routes answer as in production (a 401 for a
        # request Slack or Salesforce did not sign or send), not the 503 of "not configured".
        "slack_signing_secret": "edge-slack-signing-secret-0123456789abcdef",
        "salesforce_org_id": "00D5e000000EdgE",
    },
}
FACTORIES: dict[str, tuple[type[CommonSettings], Callable[[Any], FastAPI]]] = {
    "intake": (IntakeSettings, create_intake),
    "scoring": (ScoringSettings, create_scoring),
    "routing": (RoutingSettings, create_routing),
    "feedback": (FeedbackSettings, create_feedback),
}


def build_app(service: str, settings: CommonSettings, **extra: Any) -> FastAPI:
    """One service's app as `uvicorn --factory` would build it, bound to this test's resources;
    `extra` overrides any setting."""
    values = settings.model_dump(exclude=SHARED_EXCLUDE) | {
        "bootstrap_api_key": KEY,
        "outbox_poll_interval_s": 0.2,
        "log_json": False,
    }
    settings_class, factory = FACTORIES[service]
    return factory(settings_class(**(values | OWN[service] | extra)))


@contextlib.asynccontextmanager
async def running(app: FastAPI, base_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """The app with its lifespan running (producer, relay, consumer), and a client to it."""
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=base_url) as http,
    ):
        yield http


def assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    """The response is an RFC 9457 problem document with this status."""
    assert response.status_code == status, (response.request.url, response.text)
    assert response.headers["content-type"] == "application/problem+json", response.text
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert str(body["type"]).startswith("https://leadloop.dev/problems/")
    return body
