"""Fixtures for the fault tests: the four services as killable processes on this test's database
and topics, a webhook receiver and an SMTP server that count what they get, the test's own
database engine, the session's broker for freezing and its embedded PostgreSQL for restarting.
Every fault test is marked `both_brokers`: it runs on Tansu and again on Apache Kafka, and
counts the same on both.

    async def test_x(stack: Stack, webhook_receiver, smtp_receiver, engine) -> None:
        stack.services["routing"].kill9(); await stack.services["routing"].restart()
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from leadloop_cli.infra import EmbeddedBroker
from leadloop_cli.kafka import ApacheKafka

from ..brokers import service_security_env
from ..conftest import Broker
from ..factories import ALWAYS
from ..processes import Services
from ..receivers import SmtpReceiver, WebhookReceiver
from ..tools import cannot_run_here
from ..waiting import wait_for
from .reading import db_engine, scalar

# Reps for the teams the load's SQLs land in; no caps, always working, so every routed SQL
# goes to a rep (and gets an email) except the enterprise ones, whose team has no reps.
REPS = {
    "rep-alice": ["dach"],
    "rep-bruno": ["dach"],
    "rep-carla": ["north-america"],
    "rep-dmitri": ["north-america"],
}


@pytest.fixture
def service_env(settings_env: dict[str, str], smtp_receiver: SmtpReceiver) -> dict[str, str]:
    """The services' environment: this test's database and topics, short consumer timeouts
    (from settings_env), the SMTP receiver, and quick delivery rounds."""
    return {
        **os.environ,
        **settings_env,
        "LEADLOOP_SMTP_HOST": "127.0.0.1",
        "LEADLOOP_SMTP_PORT": str(smtp_receiver.port),
        "LEADLOOP_SMTP_STARTTLS": "false",
        "LEADLOOP_DELIVERY_INTERVAL_S": "1",
        "LEADLOOP_LOG_JSON": "false",
        "LEADLOOP_WEBHOOK_ALLOWED_HOSTS": "127.0.0.1",  # the local webhook receivers
    }


@pytest.fixture
def services(service_env: dict[str, str], broker: Broker, tmp_path: Path) -> Iterator[Services]:
    """Start services by name (`await services.start("routing")`), each as its own principal
    where the broker authenticates; all stopped afterwards."""
    started = Services(service_env, tmp_path, service_security_env(broker))
    try:
        yield started
    finally:
        started.stop_all()


@pytest.fixture
async def http(api_key: str) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client with the bootstrap key (every scope)."""
    async with httpx.AsyncClient(
        headers={"authorization": f"Bearer {api_key}"},
        timeout=httpx.Timeout(20.0),
        limits=httpx.Limits(max_connections=100, max_keepalive_connections=20),
    ) as client:
        yield client


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    """The test's own engine on its database (for counting rows), surviving a PG restart."""
    eng = db_engine(database_url)
    try:
        yield eng
    finally:
        await eng.dispose()


@pytest.fixture
def own_broker(broker: Broker) -> Iterator[EmbeddedBroker | ApacheKafka]:
    """The broker this session started (Tansu, or Apache Kafka's JVM), for pause()/resume()
    (SIGSTOP/SIGCONT); never left paused."""
    if not isinstance(broker, EmbeddedBroker | ApacheKafka):
        cannot_run_here("freezing the broker needs one the tests started (KAFKA_BOOTSTRAP_SERVERS)")
    try:
        yield broker
    finally:
        broker.resume()  # SIGCONT; harmless when it is running


@dataclass
class Stack:
    """The four services running, with reps and a webhook subscription in place."""

    services: Services
    http: httpx.AsyncClient

    @property
    def intake(self) -> str:
        return self.services["intake"].url

    @property
    def routing(self) -> str:
        return self.services["routing"].url

    @property
    def feedback(self) -> str:
        return self.services["feedback"].url

    @property
    def scoring(self) -> str:
        return self.services["scoring"].url


@pytest.fixture
async def stack(
    services: Services,
    http: httpx.AsyncClient,
    webhook_receiver: WebhookReceiver,
    engine: AsyncEngine,
) -> Stack:
    """intake, scoring, routing and feedback as processes; reps, a webhook subscription; routing
    has the agreement scoring published, so the first SQL finds it."""
    # Started side by side: each one's imports and group join overlap the others'.
    await asyncio.gather(*(services.start(n) for n in ("scoring", "routing", "feedback", "intake")))
    routing = services["routing"].url
    for rep_id, teams in REPS.items():
        name = rep_id.removeprefix("rep-").title()
        r = await http.put(
            f"{routing}/v1/reps/{rep_id}",
            json={
                "name": name,
                "email": f"{rep_id}@northwind.example",
                "teams": teams,
                "working_hours": ALWAYS,
            },
        )
        assert r.status_code == 200, r.text
    r = await http.post(
        f"{routing}/v1/webhook-subscriptions",
        json={"url": webhook_receiver.url, "description": "CRM bridge"},
    )
    assert r.status_code == 201, r.text
    webhook_receiver.secret = r.json()["secret"]

    async def agreement_known() -> bool:
        return bool(await scalar(engine, "SELECT count(*) FROM routing.agreements"))

    await wait_for(agreement_known, timeout_s=60, what="routing to receive the agreement")
    return Stack(services, http)
