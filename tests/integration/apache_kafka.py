"""Apache Kafka for the integration tests: skip (or fail in CI) where it cannot run, and the
module-scoped `kafka` fixture (tests/integration/conftest.py) that starts one broker."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from leadloop_cli.kafka import ApacheKafka
from leadloop_cli.kafka_install import KafkaUnavailable, fetch_kafka, find_java

from ..tools import cannot_run_here


def require_kafka() -> None:
    """Java and the Kafka jars (fetched now when missing); skip, or fail in CI, without them."""
    try:
        find_java()
        fetch_kafka()
    except KafkaUnavailable as exc:
        cannot_run_here(f"{exc} (`make kafka` fetches Apache Kafka once java and mvn are here)")


def running_kafka(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApacheKafka]:
    """One Apache Kafka (KRaft, one node, temporary data) until the generator closes."""
    require_kafka()
    log = tmp_path_factory.mktemp("apache-kafka") / "kafka.log"
    broker = ApacheKafka(log_path=log).start()
    try:
        yield broker
    finally:
        broker.stop()
