"""Create the topics explicitly, with their partition counts, before any service starts."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from leadloop_events import topics

log = logging.getLogger(__name__)

DEFAULT_PARTITIONS = 6
DLQ_PARTITIONS = 1


def topic_plan(prefix: str = "", partitions: int = DEFAULT_PARTITIONS) -> dict[str, int]:
    """Every topic leadloop needs and its partition count."""
    plan: dict[str, int] = {}
    for name in topics.ALL:
        plan[prefix + name] = partitions
        plan[prefix + topics.dlq(name)] = DLQ_PARTITIONS
    return plan


async def ensure_topics(
    bootstrap_servers: str,
    plan: dict[str, int],
    *,
    replication_factor: int = 1,
    security: Mapping[str, Any] | None = None,
) -> list[str]:
    """Create missing topics; returns the names created. Existing topics are left alone.

    `security` holds the client's authentication options (leadloop_messaging.kafka.client_security).
    """
    admin = AIOKafkaAdminClient(
        bootstrap_servers=bootstrap_servers, client_id="leadloop-admin", **(security or {})
    )
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [name for name in plan if name not in existing]
        if not missing:
            return []
        response = await admin.create_topics(
            [NewTopic(name, plan[name], replication_factor) for name in missing], timeout_ms=10_000
        )
        for error in response.topic_errors:
            name, code = error[0], error[1]
            if code not in (0, TopicAlreadyExistsError.errno):
                raise RuntimeError(f"creating topic {name} failed with Kafka error code {code}")
        return missing
    finally:
        await admin.close()
