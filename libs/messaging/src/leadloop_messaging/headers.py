"""Record headers under the CloudEvents Kafka binding, structured mode.

A `ce_` header marks a record as binary mode, so the official SDKs would read a structured
record that carries one as a broken binary event. Structured records therefore carry only
`content-type: application/cloudevents+json`; the id and type, for filtering without parsing
the value, travel under `leadloop_` names.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from aiokafka import ConsumerRecord

from leadloop_events.envelope import CONTENT_TYPE
from leadloop_messaging.deadletter import REFERENCE_TYPE

TYPE_HEADER = "leadloop_type"
ID_HEADER = "leadloop_id"
BINARY_MODE_PREFIX = "ce_"
Headers = list[tuple[str, bytes]]


def record_headers(event_id: str, event_type: str) -> Headers:
    """The headers of one record the relay sends: a CloudEvent, or a dead-letter reference."""
    # A reference is plain JSON about a dead letter, not a CloudEvent.
    content_type = "application/json" if event_type == REFERENCE_TYPE else CONTENT_TYPE
    return [
        ("content-type", content_type.encode()),
        (ID_HEADER, event_id.encode()),
        (TYPE_HEADER, event_type.encode()),
    ]


def without_binary_mode(headers: Iterable[tuple[str, bytes]]) -> Headers:
    """The headers without `ce_` ones (records written before the binding was followed)."""
    return [(k, v) for k, v in headers if not k.startswith(BINARY_MODE_PREFIX)]


def declared_type(record: ConsumerRecord[Any, Any]) -> str | None:
    """The event type a record's `leadloop_type` header declares (the last one, as Kafka's
    lastHeader reads it); None without one. Undecodable bytes never equal a type."""
    declared = None
    for key, value in record.headers or ():
        if key == TYPE_HEADER:
            declared = value
    return None if declared is None else declared.decode(errors="replace")
