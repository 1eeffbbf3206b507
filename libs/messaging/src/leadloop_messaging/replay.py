"""Send dead-lettered records back to the topic they came from, after the fix."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition

from leadloop_events import topics
from leadloop_messaging.deadletter import REFERENCE_TYPE
from leadloop_messaging.headers import TYPE_HEADER, without_binary_mode

log = logging.getLogger(__name__)
REPLAY_GROUP = "leadloop-dlq-replay"
DLQ_HEADERS = ("dlq.", "replayed")
# A reference parked by a release before the Kafka binding was followed carries `ce_type`.
REFERENCE_TYPE_HEADERS = (TYPE_HEADER, "ce_type")


@dataclass(frozen=True)
class ReplayResult:
    replayed: int
    dlq_topic: str
    target_topic: str


def is_reference(headers: Sequence[tuple[str, bytes]]) -> bool:
    """A dead-letter reference (the record itself was too large to keep): nothing to replay."""
    return any(
        k == "dlq.reference" or (k in REFERENCE_TYPE_HEADERS and v == REFERENCE_TYPE.encode())
        for k, v in headers
    )


async def replay_dlq(
    bootstrap_servers: str,
    topic: str,
    *,
    limit: int | None = None,
    group_id: str = REPLAY_GROUP,
    idle_timeout_ms: int = 2000,
    security: Mapping[str, Any] | None = None,
) -> ReplayResult:
    """Republish `<topic>.dlq` records (not yet replayed by `group_id`) onto `topic`.

    Only what the DLQ held when the replay started goes back (up to each partition's high-water
    mark at its first fetch). The original key, value and headers go back; the dlq.* headers
    are dropped and a `replayed` header added. The replay group commits after each record, so
    a second run does not replay the same records again. Consumers still dedupe by event id.
    """
    dlq_topic = topics.dlq(topic)
    consumer = AIOKafkaConsumer(
        dlq_topic,
        **(security or {}),
        bootstrap_servers=bootstrap_servers,
        group_id=group_id,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    producer = AIOKafkaProducer(**(security or {}), bootstrap_servers=bootstrap_servers, acks="all")
    await consumer.start()
    await producer.start()
    try:
        replayed = await _replay(
            consumer, producer, topic, limit=limit, idle_timeout_ms=idle_timeout_ms
        )
    finally:
        await producer.stop()
        await consumer.stop()
    log.info("replayed %d record(s) from %s to %s", replayed, dlq_topic, topic)
    return ReplayResult(replayed, dlq_topic, topic)


async def _replay(
    consumer: AIOKafkaConsumer,
    producer: AIOKafkaProducer,
    topic: str,
    *,
    limit: int | None,
    idle_timeout_ms: int,
) -> int:
    """Replay fetched batches until each partition's start-time end, an idle fetch or `limit`."""
    replayed = 0
    # Each partition is replayed up to its high-water mark at the first fetch: a record that
    # still fails comes back to the DLQ within milliseconds, and reading on would replay it
    # again, for ever. Those new dead letters wait for the next replay.
    end: dict[TopicPartition, int] = {}
    while limit is None or replayed < limit:
        batch = await consumer.getmany(timeout_ms=idle_timeout_ms, max_records=100)
        if not batch:
            break
        for tp, records in batch.items():
            if tp not in end:
                end[tp] = consumer.highwater(tp) or records[-1].offset + 1
            room = None if limit is None else limit - replayed
            replayed += await _replay_records(
                consumer, producer, topic, tp, records, end=end[tp], room=room
            )
        if end.keys() >= consumer.assignment() and all(
            [await consumer.position(tp) >= offset for tp, offset in end.items()]
        ):
            break
    return replayed


async def _replay_records(
    consumer: AIOKafkaConsumer,
    producer: AIOKafkaProducer,
    topic: str,
    tp: TopicPartition,
    records: Sequence[ConsumerRecord[Any, Any]],
    *,
    end: int,
    room: int | None,
) -> int:
    """Republish one partition's records below `end`, at most `room`; commit after each."""
    replayed = 0
    for record in records:
        if (room is not None and replayed >= room) or record.offset >= end:
            break
        if not is_reference(record.headers or ()):
            await producer.send_and_wait(
                topic, value=record.value, key=record.key, headers=_replay_headers(record)
            )
            replayed += 1
        await consumer.commit({TopicPartition(tp.topic, tp.partition): record.offset + 1})
    return replayed


def _replay_headers(record: ConsumerRecord[Any, Any]) -> list[tuple[str, bytes]]:
    """The record's own headers without the dlq.* (and binary-mode `ce_`) ones, marked
    `replayed`."""
    own = without_binary_mode(record.headers or ())
    headers = [(k, v) for k, v in own if not k.startswith(DLQ_HEADERS)]
    headers.append(("replayed", b"true"))
    return headers
