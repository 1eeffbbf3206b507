"""Shared fixtures: a real Kafka-protocol broker and a real PostgreSQL, started only when asked for.

Every test that uses the broker runs on the embedded Tansu. Those marked `both_brokers` run
twice, once on Tansu and once on Apache Kafka (ids `[tansu]` and `[kafka]`, one Kafka for the
session, the idempotent producer detected on): the messaging integration tests (relay, consumer,
dead letters, replay, parking, the CloudEvents binding), tests/integration/test_infra.py, the
closed loop (tests/e2e/test_closed_loop.py) and the fault tests (tests/faults: kill -9 of each
service, the broker frozen, PostgreSQL restarted and refusing, poison records, SLA replicas).
The rest stay on Tansu, to keep CI's time. Without Java the `[kafka]` tests skip and say why
(fail under LEADLOOP_REQUIRE_TOOLS=1); LEADLOOP_TEST_BROKERS=tansu (or `-k "not [kafka]"`;
`-k tansu` would also drop the Tansu-only tests) runs one broker only (tests/brokers.py).

KAFKA_BOOTSTRAP_SERVERS / DATABASE_URL, when set, point the tests at external ones instead
(every test once, on that broker). Each test gets its own database (a copy of a template
migrated once per session) and its own topic prefix, so tests never see each other's data.
"""

from __future__ import annotations

import os
import signal
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import pytest
from aiokafka.admin import AIOKafkaAdminClient

from leadloop_cli.infra import (
    EmbeddedPostgres,
    create_database,
    drop_database,
    with_database,
)
from leadloop_cli.kafka_acls import ADMIN
from leadloop_cli.services import migrate_all
from leadloop_messaging.provisioning import ensure_topics, topic_plan

from .brokers import (
    TANSU,
    SessionBrokers,
    chosen_kinds,
    connect,
    grant_topics,
    harness_security,
    security_env,
    session_timeout_ms,
    topics_served,
)
from .receivers import SmtpReceiver, WebhookReceiver, serve_webhooks
from .tools import cannot_run_here

TESTS = Path(__file__).parent
TEST_API_KEY = "llk_test_bootstrap_key_with_every_scope_0001"
TEST_PARTITIONS = 3


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "both_brokers: run once on Tansu and once on Apache Kafka ([tansu], [kafka])"
    )
    signal.signal(signal.SIGTERM, lambda signum, _frame: _say_why_then_terminate(config, signum))


def _say_why_then_terminate(config: pytest.Config, signum: int) -> None:
    """A service running inside the test process whose background task dies stops its process
    (SIGTERM, leadloop_platform.tasks): that is the test run. Show which test and what it had
    written (the CRITICAL line says why) before dying as SIGTERM would; pytest's capture would
    otherwise swallow both."""
    capture = config.pluginmanager.getplugin("capturemanager")
    written = ""
    if capture is not None:
        capture.suspend_global_capture(in_=True)
        out, err = capture.read_global_capture()
        lines = [line for line in (out + err).splitlines() if "HTTP Request: " not in line]
        critical = [line for line in lines if " CRITICAL " in line]
        written = "\n".join([*critical, "...", *lines[-20:]])[-6000:]
    test = os.environ.get("PYTEST_CURRENT_TEST", "no test running")
    sys.stderr.write(
        f"\nSIGTERM to the test process during {test}: a service running in it may have "
        "stopped itself because a background task died. What it logged at CRITICAL, then "
        f"its last lines:\n{written}\n"
    )
    sys.stderr.flush()
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    os.kill(os.getpid(), signum)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """A `both_brokers` test using the broker runs once per kind LEADLOOP_TEST_BROKERS names."""
    if (
        "broker" in metafunc.fixturenames
        and metafunc.definition.get_closest_marker("both_brokers")
        and not os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    ):
        metafunc.parametrize("broker", chosen_kinds(), indirect=True, scope="session")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark tests by directory: tests/integration → integration, tests/e2e → e2e."""
    for item in items:
        parts = item.path.relative_to(TESTS).parts if item.path.is_relative_to(TESTS) else ()
        if "integration" in parts:
            item.add_marker(pytest.mark.integration)
        if "e2e" in parts:
            item.add_marker(pytest.mark.e2e)


class Broker(Protocol):
    @property
    def bootstrap_servers(self) -> str: ...


@dataclass(frozen=True)
class ExternalBroker:
    """A broker we did not start (the fault tests, which freeze it, need the embedded one)."""

    bootstrap_servers: str


class Postgres(Protocol):
    def url(self, dbname: str = "postgres") -> str: ...


@dataclass(frozen=True)
class ExternalPostgres:
    """The server DATABASE_URL points at; tests create their databases next to it."""

    database_url: str

    def url(self, dbname: str | None = None) -> str:
        """DATABASE_URL itself (a database we may connect to), or another on the same server."""
        return self.database_url if dbname is None else with_database(self.database_url, dbname)


@pytest.fixture(scope="session")
def _brokers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SessionBrokers]:
    """Tansu and Apache Kafka, each started when a test first needs it, stopped at the end."""
    brokers = SessionBrokers(tmp_path_factory.mktemp("brokers"))
    try:
        yield brokers
    finally:
        brokers.stop_all()


@pytest.fixture(scope="session")
def broker(request: pytest.FixtureRequest, _brokers: SessionBrokers) -> Broker:
    """KAFKA_BOOTSTRAP_SERVERS if set, else the kind this test runs on (Tansu unless it is a
    `both_brokers` test's `[kafka]` run), on a free port, running for the whole session."""
    external = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if external:
        return ExternalBroker(external)
    return _brokers.get(getattr(request, "param", TANSU))


@pytest.fixture(scope="session")
def bootstrap_servers(broker: Broker) -> str:
    """The broker's `host:port` list."""
    return broker.bootstrap_servers


@pytest.fixture(scope="session")
def postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Postgres]:
    """DATABASE_URL's server if set, else embedded PostgreSQL in a temporary directory."""
    external = os.environ.get("DATABASE_URL")
    if external:
        yield ExternalPostgres(external)
        return
    server = EmbeddedPostgres(tmp_path_factory.mktemp("postgres") / "pgdata").start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def embedded_postgres(postgres: Postgres) -> Iterator[EmbeddedPostgres]:
    """The session's embedded PostgreSQL, for stop()/start(); running again after the test."""
    if not isinstance(postgres, EmbeddedPostgres):
        cannot_run_here("restarting PostgreSQL needs the embedded one (DATABASE_URL is set)")
    try:
        yield postgres
    finally:
        if not postgres.is_running():
            postgres.start()  # the session's other tests need it back


@pytest.fixture(scope="session")
async def _migrated_template(postgres: Postgres) -> AsyncIterator[str]:
    """A database with auth and every installed service's schema, copied for each test."""
    name = f"leadloop_template_{uuid.uuid4().hex[:8]}"
    url = await create_database(postgres.url(), name)
    try:
        await migrate_all(url, env={})
        yield name
    finally:
        await drop_database(postgres.url(), name)


@asynccontextmanager
async def _fresh_database(postgres: Postgres, template: str) -> AsyncIterator[str]:
    name = f"test_{uuid.uuid4().hex[:12]}"
    url = await create_database(postgres.url(), name, template=template)
    try:
        yield url
    finally:
        await drop_database(postgres.url(), name)


@pytest.fixture
async def database_url(postgres: Postgres, _migrated_template: str) -> AsyncIterator[str]:
    """A fresh, migrated database for this test alone: `postgresql://...`."""
    async with _fresh_database(postgres, _migrated_template) as url:
        yield url


@pytest.fixture
async def other_database_url(postgres: Postgres, _migrated_template: str) -> AsyncIterator[str]:
    """A second fresh, migrated database: to compare one way of applying events with another."""
    async with _fresh_database(postgres, _migrated_template) as url:
        yield url


@pytest.fixture
async def topic_prefix(broker: Broker) -> AsyncIterator[str]:
    """A unique prefix (`t<hex>.`) whose topics exist, 3 partitions each, with the services'
    ACLs on them where the broker authenticates; deleted afterwards."""
    prefix = f"t{uuid.uuid4().hex[:10]}."
    plan = topic_plan(prefix, partitions=TEST_PARTITIONS)
    security = harness_security(broker.bootstrap_servers)
    await ensure_topics(broker.bootstrap_servers, plan, security=security)
    await topics_served(broker.bootstrap_servers, plan)
    await grant_topics(broker, prefix)
    yield prefix
    admin = AIOKafkaAdminClient(**connect(broker.bootstrap_servers))
    await admin.start()
    try:
        await admin.delete_topics(list(plan), timeout_ms=10_000)
    finally:
        await admin.close()


@pytest.fixture
def api_key() -> str:
    """The bootstrap API key (every scope) that `settings_env` gives the services."""
    return TEST_API_KEY


@pytest.fixture
def settings_env(database_url: str, broker: Broker, topic_prefix: str) -> dict[str, str]:
    """Environment variables for a service under test: this test's database and topics."""
    return {
        "DATABASE_URL": database_url,
        "KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap_servers,
        "LEADLOOP_TOPIC_PREFIX": topic_prefix,
        "LEADLOOP_BOOTSTRAP_API_KEY": TEST_API_KEY,
        "LEADLOOP_KAFKA_SESSION_TIMEOUT_MS": str(session_timeout_ms(broker)),
        "LEADLOOP_KAFKA_HEARTBEAT_INTERVAL_MS": "500",
        # Detected as in production: on against Apache Kafka, off against Tansu.
        "LEADLOOP_KAFKA_ENABLE_IDEMPOTENCE": "auto",
        "LEADLOOP_ENV": "test",
        # The admin where the broker authenticates: in-process code under test and the CLI
        # (service processes override it with their own principal: tests/processes.py).
        **security_env(broker, ADMIN),
    }


@pytest.fixture
def smtp_receiver() -> Iterator[SmtpReceiver]:
    """A real SMTP server on a free port (aiosmtpd, in its own thread)."""
    receiver = SmtpReceiver().start()
    try:
        yield receiver
    finally:
        receiver.stop()


@pytest.fixture
async def webhook_receiver() -> AsyncIterator[WebhookReceiver]:
    """A real HTTP endpoint on a free port that records every webhook POST (answers 204)."""
    receiver, stop = await serve_webhooks()
    try:
        yield receiver
    finally:
        await stop()
