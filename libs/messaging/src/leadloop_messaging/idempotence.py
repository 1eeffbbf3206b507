"""Whether the producer runs idempotent: detected from the broker at start, unless forced.

aiokafka's idempotent producer starts by asking a broker for a producer id (InitProducerId,
API key 22, only at the versions aiokafka implements). ApiVersions alone cannot answer whether
that works: the embedded broker (Tansu 0.6) advertises InitProducerId v0-v5 and then answers
v0 with an UNKNOWN_SERVER_ERROR. So detection asks both: is a version aiokafka sends within
the advertised range, and does a non-transactional InitProducerId succeed (it only hands out
a producer id; nothing is written until a record carries it).
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass

from aiokafka import errors as Errors
from aiokafka.client import AIOKafkaClient
from aiokafka.protocol.admin import ApiVersionRequest
from aiokafka.protocol.transaction import InitProducerIdRequest

from leadloop_messaging.kafka import client_security
from leadloop_platform import metrics
from leadloop_platform.settings import CommonSettings

log = logging.getLogger(__name__)

INIT_PRODUCER_ID = 22
# The InitProducerId versions this aiokafka can send (0.14: v0 only).
CLIENT_VERSIONS = frozenset(c.API_VERSION for c in InitProducerIdRequest._CLASSES)
# A non-transactional producer id never times out (aiokafka sends the same).
NO_TRANSACTION_TIMEOUT_MS = 2_147_483_647
# How long a broker may answer "retry" (still loading) before the start fails.
PRODUCER_ID_WAIT_S = 30.0


class IdempotenceUnsupported(RuntimeError):
    """LEADLOOP_KAFKA_ENABLE_IDEMPOTENCE=true against a broker that cannot grant it."""


@dataclass(frozen=True)
class BrokerSupport:
    """What a broker said about the idempotent producer."""

    advertised: tuple[int, int] | None  # InitProducerId's (min, max) versions from ApiVersions
    init_error: int | None = None  # the probe's error code (0: a producer id was granted)

    @property
    def supported(self) -> bool:
        """A version aiokafka sends is advertised, and the broker granted a producer id."""
        return self.speaks_client_version and self.init_error == 0

    @property
    def speaks_client_version(self) -> bool:
        """InitProducerId is advertised at a version aiokafka sends."""
        if self.advertised is None:
            return False
        low, high = self.advertised
        return any(low <= version <= high for version in CLIENT_VERSIONS)

    def reason(self) -> str:
        """Why the broker does or does not support the idempotent producer, in a few words."""
        if self.advertised is None:
            return "the broker does not advertise InitProducerId"
        versions = "/".join(f"v{v}" for v in sorted(CLIENT_VERSIONS))
        if not self.speaks_client_version:
            low, high = self.advertised
            return f"the broker offers InitProducerId v{low}-v{high}, aiokafka sends {versions}"
        if self.init_error != 0:
            return f"the broker refused InitProducerId {versions} (error code {self.init_error})"
        return f"the broker granted a producer id (InitProducerId {versions})"


def choose_idempotence(setting: str, support: BrokerSupport | None) -> bool:
    """The producer's enable_idempotence for a setting (auto, true, false) and what the broker
    said (None: not asked, only for false); true against no support raises."""
    if setting == "false":
        return False
    if support is None:
        raise ValueError(f"LEADLOOP_KAFKA_ENABLE_IDEMPOTENCE={setting} needs the broker's answer")
    if setting == "true" and not support.supported:
        raise IdempotenceUnsupported(
            "LEADLOOP_KAFKA_ENABLE_IDEMPOTENCE=true but the broker cannot run the idempotent "
            f"producer: {support.reason()}; use auto or false with this broker"
        )
    return support.supported


async def ask_broker(settings: CommonSettings) -> BrokerSupport:
    """ApiVersions, then a non-transactional InitProducerId, on one broker of the cluster."""
    client = AIOKafkaClient(
        **client_security(settings),
        bootstrap_servers=settings.kafka_bootstrap_servers,
        client_id=f"{settings.service_name}-probe",
        request_timeout_ms=15_000,
    )
    await client.bootstrap()
    try:
        node = client.get_random_node()
        answer = await client.send(node, ApiVersionRequest())
        ranges = {key: (low, high) for key, low, high in answer.api_versions}
        support = BrokerSupport(ranges.get(INIT_PRODUCER_ID))
        if not support.speaks_client_version:
            return support
        return BrokerSupport(support.advertised, await _init_producer_id(client, node))
    finally:
        await client.close()


async def _init_producer_id(client: AIOKafkaClient, node: int) -> int:
    """The error code of a non-transactional InitProducerId, after waiting out the retriable
    ones (a broker that just started answers COORDINATOR_LOAD_IN_PROGRESS for a while)."""
    deadline = time.monotonic() + PRODUCER_ID_WAIT_S
    while True:
        granted = await client.send(
            node,
            InitProducerIdRequest(
                transactional_id=None,  # not transactional: a bare producer id
                transaction_timeout_ms=NO_TRANSACTION_TIMEOUT_MS,
            ),
        )
        error = Errors.for_code(granted.error_code)
        if not error.retriable:
            return int(granted.error_code)
        if time.monotonic() > deadline:
            raise error(f"no producer id from the broker within {PRODUCER_ID_WAIT_S:.0f} s")
        await asyncio.sleep(0.1)


async def producer_idempotence(settings: CommonSettings) -> bool:
    """Decide at start whether the service's producer is idempotent; log it, set the gauge."""
    setting = settings.kafka_enable_idempotence
    support = None if setting == "false" else await ask_broker(settings)
    chosen = choose_idempotence(setting, support)
    why = "forced off" if support is None else support.reason()
    log.info(
        "idempotent producer %s (LEADLOOP_KAFKA_ENABLE_IDEMPOTENCE=%s: %s)",
        "on" if chosen else "off",
        setting,
        why,
    )
    metrics.KAFKA_IDEMPOTENT_PRODUCER.labels(settings.service_name).set(int(chosen))
    return chosen
