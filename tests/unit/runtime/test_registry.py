"""The registry: one handler per event type, typed per type, and the topics it implies."""

from __future__ import annotations

import pytest

from leadloop_db.uow import UnitOfWork
from leadloop_events import topics
from leadloop_events.catalog import EVENT_TYPES
from leadloop_events.envelope import CloudEvent, EventData
from leadloop_events.feedback import DealClosed, LeadStatusChanged
from leadloop_events.intake import LeadCaptured
from leadloop_events.lifecycle import LeadStageChanged
from leadloop_runtime import EventHandler, Registry

seen: list[str] = []


async def capture_lead(uow: UnitOfWork, event: CloudEvent, data: LeadCaptured) -> None:
    seen.append(data.lead_id)


async def close_deal(uow: UnitOfWork, event: CloudEvent, data: DealClosed) -> None:
    seen.append(data.lead_id)


async def move_stage(uow: UnitOfWork, event: CloudEvent, data: LeadStatusChanged) -> None:
    seen.append(data.lead_id)


async def note(uow: UnitOfWork, event: CloudEvent, data: EventData) -> None:
    seen.append(event.type)


def scoring_like() -> Registry[UnitOfWork]:
    registry: Registry[UnitOfWork] = Registry()
    registry.on(LeadCaptured)(capture_lead)
    registry.on(DealClosed)(close_deal)
    registry.on(LeadStatusChanged)(move_stage)
    return registry


def test_handlers_are_keyed_by_cloudevents_type() -> None:
    handlers = scoring_like().handlers()
    assert handlers == {
        "leadloop.lead.captured.v1": capture_lead,
        DealClosed.event_type: close_deal,
        LeadStatusChanged.event_type: move_stage,
    }


def test_subscriptions_are_the_topics_of_the_handled_types() -> None:
    assert scoring_like().topics() == [topics.INTAKE, topics.FEEDBACK]


def test_a_registry_handling_every_type_reads_every_topic() -> None:
    registry: Registry[UnitOfWork] = Registry()
    for model in EVENT_TYPES.values():
        registry.on(model)(note)
    assert registry.topics() == list(topics.ALL)


def test_an_empty_registry_subscribes_to_nothing() -> None:
    assert Registry[UnitOfWork]().topics() == []


def test_a_second_handler_for_the_same_type_is_refused() -> None:
    registry = scoring_like()
    with pytest.raises(ValueError, match="already has a handler"):
        registry.on(LeadCaptured)(capture_lead)


def test_the_older_name_map_becomes_a_registry_with_the_same_subscriptions() -> None:
    by_name: dict[str, EventHandler[UnitOfWork]] = {
        LeadStageChanged.event_type: note,
    }
    registry = Registry.of(by_name)
    assert registry.topics() == [topics.LIFECYCLE]
    assert list(registry.handlers()) == [LeadStageChanged.event_type]


def test_an_unknown_type_name_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown event type"):
        Registry[UnitOfWork].of({"leadloop.lead.teleported.v1": note})


async def test_wrapped_puts_one_wrapper_around_every_handler() -> None:
    wrapped_types: list[str] = []

    def journal(handler: EventHandler[UnitOfWork]) -> EventHandler[UnitOfWork]:
        async def handle(uow: UnitOfWork, event: CloudEvent, data: EventData) -> None:
            wrapped_types.append(event.type)
            await handler(uow, event, data)

        return handle

    registry = scoring_like().wrapped(journal)
    assert registry.topics() == [topics.INTAKE, topics.FEEDBACK]
    assert len(registry) == 3
    assert set(registry.handlers()) == set(scoring_like().handlers())
