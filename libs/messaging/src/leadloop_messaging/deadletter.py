"""Dead letters that always land somewhere: whole, as a reference record, or parked in the outbox.

A record near the broker's limit cannot go to the DLQ whole once the `dlq.*` headers are added;
a DLQ send that fails must still never stop the stream. So the consumer falls back to a small
reference (where the record is, why it failed, the first few KiB of its value) and, when even
that cannot be sent, parks the reference as an outbox row targeting `<topic>.dlq`, which the
relay publishes when it can.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime

from aiokafka import ConsumerRecord

from leadloop_events.limits import DLQ_EXCERPT_BYTES

REFERENCE_TYPE = "leadloop.dlq.reference.v1"
"""The `leadloop_type` header (and JSON `type`) of a dead-letter reference: not replayed."""
Headers = list[tuple[str, bytes]]


def dlq_headers(
    record: ConsumerRecord[bytes, bytes], error: BaseException, *, consumer: str, attempts: int
) -> Headers:
    """The `dlq.*` headers: the error and where the record came from."""
    return [
        ("dlq.error", str(error)[:2000].encode()),
        ("dlq.error_type", type(error).__name__.encode()),
        ("dlq.topic", record.topic.encode()),
        ("dlq.partition", str(record.partition).encode()),
        ("dlq.offset", str(record.offset).encode()),
        ("dlq.consumer", consumer.encode()),
        ("dlq.attempts", str(attempts).encode()),
        ("dlq.failed_at", datetime.now(UTC).isoformat().encode()),
    ]


def reference(
    record: ConsumerRecord[bytes, bytes],
    error: BaseException,
    send_error: BaseException,
    *,
    consumer: str,
    attempts: int,
) -> bytes:
    """A small JSON record that says where the dead letter is and why it could not go whole."""
    value = record.value or b""
    body = {
        "type": REFERENCE_TYPE,
        "topic": record.topic,
        "partition": record.partition,
        "offset": record.offset,
        "key": (record.key or b"").decode("utf-8", "replace")[:200],
        "consumer": consumer,
        "attempts": attempts,
        "error": str(error)[:2000],
        "error_type": type(error).__name__,
        "dlq_send_error": repr(send_error)[:1000],
        "value_bytes": len(value),
        "value_head": value[:DLQ_EXCERPT_BYTES].decode("utf-8", "replace"),
        "failed_at": datetime.now(UTC).isoformat(),
    }
    return json.dumps(body).encode()


def reference_id(record: ConsumerRecord[bytes, bytes], consumer: str) -> str:
    """A stable id per (consumer, record), so a redelivered record parks one reference only."""
    where = f"{consumer}:{record.topic}:{record.partition}:{record.offset}".encode()
    return "dlq-" + hashlib.sha256(where).hexdigest()[:56]


def outbox_key(record: ConsumerRecord[bytes, bytes]) -> str:
    """The outbox row's key: the record's key when it is text that fits, else its position."""
    key = (record.key or b"").decode("utf-8", "replace")
    return key if 0 < len(key) <= 200 else f"{record.topic}/{record.partition}@{record.offset}"
