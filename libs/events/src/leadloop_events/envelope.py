"""The CloudEvents 1.0 envelope in structured JSON mode, with leadloop's correlation id."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from leadloop_events import topics
from leadloop_events.bounds import MAX_URL

SPEC_VERSION = "1.0"
CONTENT_TYPE = "application/cloudevents+json"
# The attributes CloudEvents 1.0 requires of every event; the model defaults two of them for the
# events leadloop builds, but a record read from the wire must carry all four.
REQUIRED = ("specversion", "id", "source", "type")


def _wire_schema(schema: dict[str, Any]) -> None:
    """The published schema describes a record on the wire: the four attributes are required."""
    schema["required"] = list(REQUIRED)
    schema["properties"]["specversion"]["const"] = SPEC_VERSION


class EventData(BaseModel):
    """Base of every event's `data`: a past-tense fact with a versioned CloudEvents type."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    event_type: ClassVar[str]
    topic: ClassVar[str]


class CloudEvent(BaseModel):
    """A CloudEvents 1.0 record; `data` holds the JSON of an `EventData` model."""

    model_config = ConfigDict(extra="allow", frozen=True, json_schema_extra=_wire_schema)

    # Bounded so that the ids fit their columns (outbox, processed events) and keys.
    specversion: str = Field(default=SPEC_VERSION, max_length=10)
    id: str = Field(default_factory=lambda: str(uuid.uuid4()), min_length=1, max_length=64)
    source: str = Field(min_length=1, max_length=200)
    type: str = Field(min_length=1, max_length=200)
    subject: str | None = Field(default=None, max_length=200)
    time: datetime = Field(default_factory=lambda: datetime.now(UTC))
    datacontenttype: str = Field(default="application/json", max_length=100)
    dataschema: str | None = Field(default=None, max_length=MAX_URL)
    correlationid: str | None = Field(default=None, max_length=200)
    data: dict[str, Any] = Field(default_factory=dict)

    def to_bytes(self) -> bytes:
        """Serialize in structured JSON mode."""
        return self.model_dump_json(exclude_none=True).encode()

    @classmethod
    def from_bytes(cls, raw: bytes) -> CloudEvent:
        """Parse structured JSON; raises `InvalidEvent` with the reason."""
        try:
            event = cls.model_validate_json(raw)
        except ValidationError as exc:
            raise InvalidEvent(f"not a CloudEvent: {exc.errors(include_url=False)}") from exc
        missing = [name for name in REQUIRED if name not in event.model_fields_set]
        if missing:
            raise InvalidEvent(f"not a CloudEvent: missing {', '.join(missing)}")
        if event.specversion != SPEC_VERSION:
            raise InvalidEvent(f"unsupported specversion {event.specversion!r}")
        return event


class InvalidEvent(ValueError):
    """A record that is not a valid leadloop event (goes to the DLQ, never retried)."""


def new_event(
    data: EventData,
    *,
    subject: str,
    source: str | None = None,
    correlation_id: str | None = None,
    time: datetime | None = None,
    event_id: str | None = None,
) -> CloudEvent:
    """Wrap `data` in an envelope whose type comes from the data model and whose source is, by
    default, the service that owns the model's topic."""
    return CloudEvent(
        id=event_id or str(uuid.uuid4()),
        source=source or topics.PRODUCERS[data.topic],
        type=data.event_type,
        subject=subject,
        time=time or datetime.now(UTC),
        correlationid=correlation_id,
        dataschema=f"https://leadloop.dev/schemas/{data.event_type}.json",
        data=data.model_dump(mode="json"),
    )
