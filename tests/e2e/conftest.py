"""End-to-end: services as real processes, driven only through HTTP and topics."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from leadloop_cli.kafka_acls import ADMIN

from ..brokers import security_env, service_security_env, session_timeout_ms
from ..conftest import Broker
from ..processes import Services
from ..vendors.hubspot import FakeHubSpot, serve_hubspot
from ..vendors.salesforce import FakeSalesforce, serve_salesforce

E2E_KEY = "llk_e2e_bootstrap_key_with_every_scope_0000"


@pytest.fixture
def service_env(database_url: str, broker: Broker, topic_prefix: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap_servers,
        "LEADLOOP_TOPIC_PREFIX": topic_prefix,
        "LEADLOOP_BOOTSTRAP_API_KEY": E2E_KEY,
        "LEADLOOP_ENV": "test",
        "LEADLOOP_KAFKA_SESSION_TIMEOUT_MS": str(session_timeout_ms(broker)),
        "LEADLOOP_KAFKA_HEARTBEAT_INTERVAL_MS": "500",
        # Detected as in production: on against Apache Kafka, off against Tansu.
        "LEADLOOP_KAFKA_ENABLE_IDEMPOTENCE": "auto",
        "LEADLOOP_WEBHOOK_ALLOWED_HOSTS": "127.0.0.1",  # the local webhook receivers
        **security_env(broker, ADMIN),  # the CLI's; each service connects as its own
    }


@pytest.fixture
def start_service(service_env: dict[str, str], broker: Broker, tmp_path: Path) -> Iterator[object]:
    """`await start_service("routing", extra_env)`: the service as its own process (and broker
    principal), ready."""
    services = Services(service_env, tmp_path, service_security_env(broker))
    yield services.start
    services.stop_all()


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(headers={"authorization": f"Bearer {E2E_KEY}"}) as client:
        yield client


@pytest.fixture
async def hubspot() -> AsyncIterator[FakeHubSpot]:
    """The fake HubSpot API on a local port, for the test's services to call."""
    fake, stop = await serve_hubspot()
    yield fake
    await stop()


@pytest.fixture
async def salesforce() -> AsyncIterator[FakeSalesforce]:
    """The fake Salesforce org on a local port, for the test's services to call."""
    org, stop = await serve_salesforce()
    yield org
    await stop()
