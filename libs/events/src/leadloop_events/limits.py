"""Record size limits: what the producer sends, and what the outbox accepts, with headroom."""

from __future__ import annotations

from typing import Final

MAX_RECORD_BYTES: Final = 1_048_576
"""The producer's `max_request_size` (1 MiB), the broker's own default record limit
(`message.max.bytes`); a broker or topic configured lower refuses records below it."""
MAX_EVENT_BYTES: Final = 768 * 1024
"""The largest serialized event the outbox takes: a quarter of the record limit stays free for
the key, the headers, the batch overhead and the `dlq.*` headers of a dead letter."""
DLQ_EXCERPT_BYTES: Final = 4 * 1024
"""How much of a record's value a dead-letter reference carries when the record cannot go whole."""
