"""The brokers a test session runs on: the embedded Tansu for every test, and Apache Kafka for
the tests marked `both_brokers`, which run once on each (ids `[tansu]` and `[kafka]`).

Each broker starts at most once per session, when the first test asking for it runs, and stops
at the end of the session. LEADLOOP_TEST_BROKERS (`tansu,kafka` by default) narrows what the
marked tests run on: `tansu` leaves Apache Kafka out, `kafka` the Tansu half."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from aiokafka.admin import AIOKafkaAdminClient

from leadloop_cli.infra import EmbeddedBroker
from leadloop_cli.kafka import ApacheKafka

from .integration.apache_kafka import require_kafka
from .waiting import wait_for

TANSU, KAFKA = "tansu", "kafka"
KINDS = (TANSU, KAFKA)


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


async def topics_served(bootstrap_servers: str, plan: Mapping[str, int]) -> None:
    """Wait until the broker describes every topic of `plan` with its partitions, each led:
    Apache Kafka answers CreateTopics before its metadata shows them (Tansu at once)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
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
            return ApacheKafka(log_path=self.logs / "kafka.log").start()
        return EmbeddedBroker(log_path=self.logs / "tansu.log").start()

    def stop_all(self) -> None:
        for broker in self.started.values():
            broker.resume()  # a test that froze it and died must not leave it stopped
            broker.stop()
        self.started.clear()
