"""Which brokers the loop bench runs on (`--broker tansu|kafka|both`), why one is skipped, and
starting each: the embedded Tansu, or Apache Kafka (leadloop_cli.kafka) on this machine's JDK.

Both runs are alike but for the broker: each starts its own broker and PostgreSQL, measures its
own baselines on them, then drives the loop; they run one after the other, never at once.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from leadloop_cli.infra import EmbeddedBroker
from leadloop_cli.kafka import ApacheKafka
from leadloop_cli.kafka_install import KAFKA_VERSION, KafkaUnavailable, find_java, kafka_home
from leadloop_messaging.idempotence import ask_broker, choose_idempotence
from leadloop_platform.settings import CommonSettings

TANSU, KAFKA, EXTERNAL = "tansu", "kafka", "external"
CHOICES = (TANSU, "embedded", KAFKA, "both")  # embedded: `leadloop dev --broker`'s word for Tansu
LABELS = {
    TANSU: "embedded Tansu (memory)",
    KAFKA: f"Apache Kafka {KAFKA_VERSION} (KRaft, one node, disk)",
    EXTERNAL: "the broker KAFKA_BOOTSTRAP_SERVERS names",
}

# The services' consumer session timeout: 3 s on Tansu, as in the tests; 6 s elsewhere, the
# least Apache Kafka accepts as configured (group.min.session.timeout.ms), as in tests/brokers.py.
SESSION_TIMEOUT_MS = {TANSU: 3000, KAFKA: 6000, EXTERNAL: 6000}


def kafka_unavailable(env: Mapping[str, str] = os.environ) -> str | None:
    """Why Apache Kafka cannot run here (no jars, no java), or None when it can."""
    lib = kafka_home(env) / "lib"
    if not lib.is_dir():
        return f"Apache Kafka {KAFKA_VERSION} is not in {lib.parent} (`make kafka` fetches it)"
    try:
        find_java(env)
    except KafkaUnavailable as exc:
        return str(exc)
    return None


def plan(
    choice: str, kafka_reason: str | None, external: str | None
) -> tuple[list[str], dict[str, str]]:
    """The brokers to run on, in order, and the ones skipped with the reason.

    `kafka_reason` is why Apache Kafka cannot run (None: it can); `external` is
    KAFKA_BOOTSTRAP_SERVERS, which replaces both: the bench then runs once, on that broker.
    Asking for Kafka alone where it cannot run is an error, not a skip."""
    if choice not in CHOICES:
        raise ValueError(f"--broker {choice}: choose one of {', '.join(CHOICES)}")
    if external:
        skipped = {TANSU: f"KAFKA_BOOTSTRAP_SERVERS={external} is set: the run uses that broker"}
        return [EXTERNAL], skipped
    wanted = [TANSU, KAFKA] if choice == "both" else [KAFKA if choice == KAFKA else TANSU]
    if KAFKA in wanted and kafka_reason is not None:
        if wanted == [KAFKA]:
            raise SystemExit(f"--broker kafka: {kafka_reason}")
        return [TANSU], {KAFKA: kafka_reason}
    return wanted, {}


def start(kind: str, workdir: Path) -> EmbeddedBroker | ApacheKafka:
    """A started broker of `kind`, its log in `workdir` (Kafka's data in a temporary
    directory, removed at stop)."""
    if kind == KAFKA:
        return ApacheKafka(log_path=workdir / "kafka.log").start()
    return EmbeddedBroker(log_path=workdir / "tansu.log").start()


async def idempotent(bootstrap: str) -> bool:
    """Whether the services' producers will be idempotent on this broker: the same detection
    and LEADLOOP_KAFKA_ENABLE_IDEMPOTENCE they use at start, so the baseline chain matches."""
    settings = CommonSettings(kafka_bootstrap_servers=bootstrap, service_name="bench")
    setting = settings.kafka_enable_idempotence
    support = None if setting == "false" else await ask_broker(settings)
    return choose_idempotence(setting, support)
