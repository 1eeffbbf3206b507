"""Every event type by its CloudEvents `type`, and parsing an envelope's data into its model."""

from __future__ import annotations

from pydantic import ValidationError

from leadloop_events import topics
from leadloop_events.agreement import AgreementPublished
from leadloop_events.envelope import CloudEvent, EventData, InvalidEvent
from leadloop_events.feedback import DealClosed, LeadStatusChanged, LeadTouched
from leadloop_events.handoff import LeadAssigned, LeadLinked, LeadReassigned, SlaBreached
from leadloop_events.intake import (
    ActivityRecorded,
    CrmNotificationReceived,
    LeadCaptured,
    LeadErased,
)
from leadloop_events.lifecycle import LeadScored, LeadStageChanged

EVENT_TYPES: dict[str, type[EventData]] = {
    model.event_type: model
    for model in (
        LeadCaptured,
        ActivityRecorded,
        LeadErased,
        CrmNotificationReceived,
        LeadScored,
        LeadStageChanged,
        AgreementPublished,
        LeadAssigned,
        LeadReassigned,
        SlaBreached,
        LeadLinked,
        LeadTouched,
        LeadStatusChanged,
        DealClosed,
    )
}


def parse_data(event: CloudEvent) -> EventData:
    """The typed `data` of `event`; InvalidEvent names the type or the fields at fault."""
    model = EVENT_TYPES.get(event.type)
    if model is None:
        raise InvalidEvent(f"unknown event type {event.type!r}")
    try:
        return model.model_validate(event.data)
    except ValidationError as exc:
        fields = ", ".join(".".join(str(p) for p in e["loc"]) for e in exc.errors())
        raise InvalidEvent(f"invalid data for {event.type}: {fields}: {exc}") from exc


def check_origin(event: CloudEvent, topic: str) -> None:
    """InvalidEvent unless `event`'s type belongs on `topic` and came from that topic's producer.

    `topic` is the physical topic the record was read from: a test prefix may precede the
    logical name, and a consumer only ever reads the topics it subscribed to.
    """
    model = EVENT_TYPES.get(event.type)
    if model is None:
        raise InvalidEvent(f"unknown event type {event.type!r}")
    if not topic.endswith(model.topic):
        raise InvalidEvent(
            f"{event.type} belongs on {model.topic}, not on {topic}: refused as forged"
        )
    owner = topics.PRODUCERS[model.topic]
    if event.source != owner:
        raise InvalidEvent(
            f"{event.type} comes only from {owner}, not from source {event.source!r}: "
            "refused as forged"
        )


def types_on(topic: str) -> list[type[EventData]]:
    """The event types published on `topic`."""
    return [model for model in EVENT_TYPES.values() if model.topic == topic]
