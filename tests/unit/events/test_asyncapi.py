"""The AsyncAPI document holds together: every reference resolves, each topic has one sender,
and a receive operation lists only messages of its own channel (AsyncAPI 3.0, Operation)."""

from __future__ import annotations

from typing import Any

import yaml

from leadloop_events import generate, topics
from leadloop_events.catalog import types_on

DOCUMENT: dict[str, Any] = yaml.safe_load(generate.ASYNCAPI.read_text())


def _resolve(ref: str) -> Any:
    assert ref.startswith("#/"), ref
    node: Any = DOCUMENT
    for part in ref.removeprefix("#/").split("/"):
        assert part in node, f"{ref} does not resolve"
        node = node[part]
    return node


def test_every_operation_is_a_send_or_a_receive_on_a_channel_that_exists() -> None:
    assert DOCUMENT["asyncapi"].startswith("3.")
    for name, operation in DOCUMENT["operations"].items():
        assert operation["action"] in {"send", "receive"}, name
        assert _resolve(operation["channel"]["$ref"])["address"] in topics.ALL


def test_each_topic_has_its_one_producer_as_its_only_sender() -> None:
    senders = {
        _resolve(op["channel"]["$ref"])["address"]: name.split("_sends_")[0]
        for name, op in DOCUMENT["operations"].items()
        if op["action"] == "send"
    }
    assert senders == {t: generate.producer(t) for t in topics.ALL}


def test_a_receive_operation_lists_only_messages_of_its_channel() -> None:
    receives = {k: op for k, op in DOCUMENT["operations"].items() if op["action"] == "receive"}
    assert receives, "the receive side is missing: run `make schemas`"
    for name, operation in receives.items():
        channel_ref = operation["channel"]["$ref"]
        channel = _resolve(channel_ref)
        assert operation["messages"], f"{name} receives nothing"
        for message in operation["messages"]:
            assert message["$ref"].startswith(channel_ref + "/messages/"), (name, message)
            assert _resolve(_resolve(message["$ref"])["$ref"])["name"] in {
                m.event_type for m in types_on(channel["address"])
            }


def test_receive_operations_are_one_per_service_and_channel() -> None:
    operations = generate.receive_operations(
        {"scoring": {topics.INTAKE: ["leadloop.lead.captured.v1", "leadloop.lead.erased.v1"]}}
    )
    assert operations == {
        "scoring_receives_leads_intake": {
            "action": "receive",
            "channel": {"$ref": "#/channels/leads_intake"},
            "summary": "scoring consumes leadloop.lead.captured.v1, leadloop.lead.erased.v1 "
            "from leads.intake",
            "messages": [
                {"$ref": "#/channels/leads_intake/messages/lead_captured_v1"},
                {"$ref": "#/channels/leads_intake/messages/lead_erased_v1"},
            ],
        }
    }


def test_the_events_generator_keeps_the_receive_side_it_cannot_see() -> None:
    written = generate.written_receive_operations()
    rendered = yaml.safe_load(generate.render()[generate.ASYNCAPI])["operations"]
    assert {k: v for k, v in rendered.items() if v["action"] == "receive"} == written
