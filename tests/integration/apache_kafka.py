"""Apache Kafka for the tests: skip (or fail in CI) where it cannot run."""

from __future__ import annotations

from leadloop_cli.kafka_install import KafkaUnavailable, fetch_kafka, find_java

from ..tools import cannot_run_here


def require_kafka() -> None:
    """Java and the Kafka jars (fetched now when missing); skip, or fail in CI, without them."""
    try:
        find_java()
        fetch_kafka()
    except KafkaUnavailable as exc:
        cannot_run_here(f"{exc} (`make kafka` fetches Apache Kafka once java and mvn are here)")
