"""Routing's registry: built from settings alone, one handler per consumed event type."""

from __future__ import annotations

from leadloop_events import topics
from leadloop_routing.config import Settings
from leadloop_routing.handlers import registry


def test_the_registry_maps_each_consumed_event_to_its_handler() -> None:
    handlers = registry(Settings()).handlers()
    names = {event_type: handler.__name__ for event_type, handler in handlers.items()}
    assert names == {
        "leadloop.agreement.published.v1": "store_agreement",
        "leadloop.lead.stage_changed.v1": "assign_lead",
        "leadloop.lead.touched.v1": "stop_sla_timer",
        "leadloop.lead.status_changed.v1": "stop_sla_timer",
        "leadloop.lead.erased.v1": "erase_lead",
    }
    assert registry().topics() == [topics.INTAKE, topics.LIFECYCLE, topics.FEEDBACK]
