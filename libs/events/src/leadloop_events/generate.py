"""Generate the JSON Schemas and the AsyncAPI 3 document from the event models.

python -m leadloop_events.generate          # write them
python -m leadloop_events.generate --check  # exit 1, naming stale files, if out of date

The send side (who publishes each topic) is known here. The receive side (who consumes what)
comes from the services' registries, which libs/ cannot import: `leadloop topology` (tools/cli)
writes it with `receive_operations`, and this generator keeps it as written.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from leadloop_events import topics
from leadloop_events.catalog import EVENT_TYPES, types_on
from leadloop_events.envelope import CloudEvent

ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = ROOT / "schemas"
ASYNCAPI = ROOT / "asyncapi.yaml"
SCHEMA_BASE = "https://leadloop.dev/schemas/"
# service -> topic -> the event types it handles there
Receivers = Mapping[str, Mapping[str, Sequence[str]]]


def _json(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, sort_keys=True) + "\n"


def _message_name(event_type: str) -> str:
    return event_type.removeprefix("leadloop.").replace(".", "_")


def producer(topic: str) -> str:
    """The name of the one service that publishes `topic` (from its CloudEvents source)."""
    return topics.PRODUCERS[topic].rsplit("/", 1)[-1]


def _channel(topic: str) -> str:
    return topic.replace(".", "_")


def receive_operations(receivers: Receivers) -> dict[str, Any]:
    """AsyncAPI receive operations: one per (service, channel), naming the messages handled."""
    operations: dict[str, Any] = {}
    for service, handled in receivers.items():
        for topic, event_types in handled.items():
            channel = _channel(topic)
            names = [_message_name(t) for t in event_types]
            operations[f"{service}_receives_{channel}"] = {
                "action": "receive",
                "channel": {"$ref": f"#/channels/{channel}"},
                "summary": f"{service} consumes {', '.join(event_types)} from {topic}",
                "messages": [{"$ref": f"#/channels/{channel}/messages/{n}"} for n in names],
            }
    return operations


def written_receive_operations() -> dict[str, Any]:
    """The receive operations in the AsyncAPI document as last written (by `leadloop topology`)."""
    if not ASYNCAPI.exists():
        return {}
    operations: dict[str, Any] = yaml.safe_load(ASYNCAPI.read_text()).get("operations", {})
    return {k: op for k, op in operations.items() if op.get("action") == "receive"}


def asyncapi(receives: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The AsyncAPI 3.0 document: four channels, their messages, who sends and who receives."""
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    for topic in topics.ALL:
        service, channel = producer(topic), _channel(topic)
        names = [_message_name(m.event_type) for m in types_on(topic)]
        channels[channel] = {
            "address": topic,
            "description": f"Keyed by lead id. Dead letters go to {topics.dlq(topic)}.",
            "messages": {n: {"$ref": f"#/components/messages/{n}"} for n in names},
        }
        operations[f"{service}_sends_{channel}"] = {
            "action": "send",
            "channel": {"$ref": f"#/channels/{channel}"},
            "summary": f"{service} publishes on {topic} through its outbox",
        }
        for model in types_on(topic):
            name = _message_name(model.event_type)
            messages[name] = {
                "name": model.event_type,
                "title": model.__name__,
                "summary": (model.__doc__ or "").strip().splitlines()[0],
                "contentType": "application/cloudevents+json",
                "payload": {
                    "allOf": [
                        {"$ref": "schemas/cloudevent.json"},
                        {
                            "type": "object",
                            "properties": {
                                "type": {"const": model.event_type},
                                "data": {"$ref": f"schemas/{model.event_type}.json"},
                            },
                        },
                    ]
                },
            }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "leadloop events",
            "version": "1.0.0",
            "description": "CloudEvents 1.0 (structured JSON) exchanged by the four services.",
        },
        "defaultContentType": "application/cloudevents+json",
        "channels": channels,
        "operations": {**operations, **(receives or {})},
        "components": {"messages": messages},
    }


def render(receives: Mapping[str, Any] | None = None) -> dict[Path, str]:
    """Every generated file and its content; the receive side as written unless given."""
    files: dict[Path, str] = {}
    envelope = CloudEvent.model_json_schema()
    envelope.update({"$id": SCHEMA_BASE + "cloudevent.json", "title": "CloudEvent"})
    files[SCHEMAS / "cloudevent.json"] = _json(envelope)
    for event_type, model in sorted(EVENT_TYPES.items()):
        schema = model.model_json_schema()
        schema.update({"$id": f"{SCHEMA_BASE}{event_type}.json", "title": event_type})
        files[SCHEMAS / f"{event_type}.json"] = _json(schema)
    if receives is None:
        receives = written_receive_operations()
    files[ASYNCAPI] = yaml.safe_dump(asyncapi(receives), sort_keys=False, width=100)
    return files


def stale() -> list[Path]:
    """Files whose content differs from what would be generated (or that are missing)."""
    expected = render()
    out = [p for p, text in expected.items() if not p.exists() or p.read_text() != text]
    extra = set(SCHEMAS.glob("*.json")) - set(expected)
    return sorted(out + list(extra))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args(argv)
    if args.check:
        outdated = stale()
        for path in outdated:
            print(f"stale: {path.relative_to(ROOT.parents[1])}", file=sys.stderr)
        return 1 if outdated else 0
    SCHEMAS.mkdir(parents=True, exist_ok=True)
    for extra in set(SCHEMAS.glob("*.json")) - set(render()):
        extra.unlink()
    for path, text in render().items():
        path.write_text(text)
    print(f"wrote {len(render())} files under {ROOT.relative_to(ROOT.parents[1])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
