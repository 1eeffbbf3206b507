"""The brokers a test session runs on: the embedded Tansu for every test, and Apache Kafka for
the tests marked `both_brokers`, which run once on each (ids `[tansu]` and `[kafka]`).

Each broker starts at most once per session, when the first test asking for it runs, and stops
at the end of the session. LEADLOOP_TEST_BROKERS (`tansu,kafka` by default) narrows what the
marked tests run on: `tansu` leaves Apache Kafka out, `kafka` the Tansu half.

Apache Kafka runs as production is told to (deploy/kafka/sasl.properties): every client
authenticates with SASL/SCRAM and the ACLs of `leadloop kafka acls` hold for each test's topics.
Each service process connects as its own principal (`service_security_env`); the test harness
itself (creating topics, reading what the services wrote, injecting poison, replaying dead
letters) connects as the broker's admin (`connect`, `security_env(broker, ADMIN)`)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient

from leadloop_cli.infra import EmbeddedBroker
from leadloop_cli.kafka import ApacheKafka
from leadloop_cli.kafka_acls import ADMIN, SCRAM_MECHANISM, acl_plan, apply
from leadloop_cli.kafka_auth import KafkaAuth

from .integration.apache_kafka import require_kafka
from .waiting import wait_for

TANSU, KAFKA = "tansu", "kafka"
KINDS = (TANSU, KAFKA)
# The admin's client options per authenticating broker of this session, by its address.
_HARNESS_SECURITY: dict[str, dict[str, Any]] = {}


def chosen_kinds(env: Mapping[str, str] = os.environ) -> tuple[str, ...]:
    """The kinds the `both_brokers` tests run on, from LEADLOOP_TEST_BROKERS; refuses others."""
    chosen = tuple(k.strip() for k in env.get("LEADLOOP_TEST_BROKERS", ",".join(KINDS)).split(","))
    unknown = [k for k in chosen if k not in KINDS]
    if unknown or not any(chosen):
        raise ValueError(
            f"LEADLOOP_TEST_BROKERS={env.get('LEADLOOP_TEST_BROKERS')!r}: "
            f"a comma-separated list of {', '.join(KINDS)}"
        )
    return tuple(k for k in KINDS if k in chosen)


def auth_of(broker: object) -> KafkaAuth | None:
    """The broker's SCRAM users when it authenticates clients (the session's Apache Kafka)."""
    return broker.auth if isinstance(broker, ApacheKafka) else None


def harness_security(bootstrap_servers: str) -> dict[str, Any]:
    """The admin's aiokafka credentials when that broker authenticates clients; else none."""
    return dict(_HARNESS_SECURITY.get(bootstrap_servers, {}))


def connect(bootstrap_servers: str) -> dict[str, Any]:
    """aiokafka's options for a client of the test harness: the address and its credentials."""
    return {"bootstrap_servers": bootstrap_servers, **harness_security(bootstrap_servers)}


def security_settings(broker: object, user: str) -> dict[str, str]:
    """The settings (CommonSettings fields) that make a service or the CLI connect as `user`;
    none on a broker that does not authenticate."""
    auth = auth_of(broker)
    if auth is None:
        return {}
    return {
        "kafka_security_protocol": "SASL_PLAINTEXT",
        "kafka_sasl_mechanism": SCRAM_MECHANISM,
        "kafka_sasl_username": user,
        "kafka_sasl_password": auth.passwords[user],
    }


def security_env(broker: object, user: str) -> dict[str, str]:
    """`security_settings` as the environment variables (LEADLOOP_KAFKA_*) a process reads."""
    return {f"LEADLOOP_{k.upper()}": v for k, v in security_settings(broker, user).items()}


def service_security_env(broker: object) -> dict[str, dict[str, str]]:
    """Per service name, the settings that make its process connect as its own principal."""
    auth = auth_of(broker)
    names = [] if auth is None else [n for n in auth.passwords if n != ADMIN]
    return {name: security_env(broker, name) for name in names}


async def grant_topics(broker: object, prefix: str) -> None:
    """On an authenticating broker, the ACLs `leadloop kafka acls` plans for topics under
    `prefix`: each service may write its own and read what it consumes, nothing else."""
    if isinstance(broker, ApacheKafka) and broker.auth is not None:
        await apply(broker.bootstrap_servers, broker.auth.client(ADMIN), acl_plan(prefix))


async def topics_served(bootstrap_servers: str, plan: Mapping[str, int]) -> None:
    """Wait until the broker describes every topic of `plan` with its partitions, each led:
    Apache Kafka answers CreateTopics before its metadata shows them (Tansu at once)."""
    admin = AIOKafkaAdminClient(**connect(bootstrap_servers))
    await admin.start()
    try:

        async def served() -> bool:
            described = await admin.describe_topics(list(plan))
            return all(
                d["error_code"] == 0
                and len(d["partitions"]) == plan[d["topic"]]
                and all(p["leader"] >= 0 for p in d["partitions"])
                for d in described
            )

        await wait_for(served, what=f"the broker to serve the topics {sorted(plan)}")
    finally:
        await admin.close()


def session_timeout_ms(broker: object) -> int:
    """The consumers' session timeout in tests: 3 s on Tansu, so a killed member's partitions
    move within seconds; 6 s elsewhere, the least Apache Kafka accepts as configured for
    production (group.min.session.timeout.ms) and an external broker most likely accepts."""
    return 3000 if isinstance(broker, EmbeddedBroker) else 6000


class SessionBrokers:
    """Starts each kind of broker the first time it is asked for; stops them all at the end."""

    def __init__(self, logs: Path) -> None:
        self.logs = logs
        self.started: dict[str, EmbeddedBroker | ApacheKafka] = {}
        self.failed: dict[str, BaseException] = {}

    def get(self, kind: str) -> EmbeddedBroker | ApacheKafka:
        """The running broker of `kind`; Apache Kafka skips (or fails, in CI) without Java."""
        if kind in self.started:
            return self.started[kind]
        if kind in self.failed:
            # Started once and failed: every later test says so instead of trying again.
            raise RuntimeError(f"{kind} failed to start earlier in this session") from self.failed[
                kind
            ]
        if kind == KAFKA:
            require_kafka()
        try:
            broker = self._start(kind)
        except Exception as exc:
            self.failed[kind] = exc
            raise
        self.started[kind] = broker
        return broker

    def _start(self, kind: str) -> EmbeddedBroker | ApacheKafka:
        if kind == KAFKA:
            auth = KafkaAuth.generate()
            kafka = ApacheKafka(log_path=self.logs / "kafka.log", auth=auth).start()
            _HARNESS_SECURITY[kafka.bootstrap_servers] = auth.client(ADMIN)
            return kafka
        return EmbeddedBroker(log_path=self.logs / "tansu.log").start()

    def stop_all(self) -> None:
        for broker in self.started.values():
            broker.resume()  # a test that froze it and died must not leave it stopped
            broker.stop()
            _HARNESS_SECURITY.pop(broker.bootstrap_servers, None)
        self.started.clear()
