"""The published envelope schema requires what CloudEvents 1.0 requires, and so does the reader."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from leadloop_events import generate
from leadloop_events.envelope import CloudEvent, InvalidEvent, new_event
from leadloop_events.intake import LeadErased

NOW = datetime(2026, 11, 22, 9, 30, tzinfo=UTC)
SCHEMA: dict[str, Any] = json.loads((generate.SCHEMAS / "cloudevent.json").read_text())


def _violations(record: dict[str, Any]) -> list[str]:
    """What the schema's `required` and `const` keywords reject in `record` (no jsonschema here)."""
    problems = [f"{name} is required" for name in SCHEMA["required"] if name not in record]
    for name, prop in SCHEMA["properties"].items():
        if "const" in prop and name in record and record[name] != prop["const"]:
            problems.append(f"{name} must be {prop['const']!r}")
    return problems


def _real_record() -> dict[str, Any]:
    erased = LeadErased(lead_id="lead-ACME-DENTAL", erased_at=NOW)
    event = new_event(erased, subject="lead-ACME-DENTAL")
    record: dict[str, Any] = json.loads(event.to_bytes())
    return record


def test_the_schema_requires_the_four_attributes_of_the_spec() -> None:
    assert sorted(SCHEMA["required"]) == ["id", "source", "specversion", "type"]
    assert SCHEMA["properties"]["specversion"]["const"] == "1.0"


def test_a_real_event_passes_and_one_without_id_fails() -> None:
    record = _real_record()
    assert _violations(record) == []
    del record["id"]
    assert _violations(record) == ["id is required"]
    assert _violations({**_real_record(), "specversion": "0.3"}) == ["specversion must be '1.0'"]


@pytest.mark.parametrize("attribute", ["specversion", "id"])
def test_the_reader_refuses_a_record_without_a_required_attribute(attribute: str) -> None:
    record = _real_record()
    del record[attribute]
    with pytest.raises(InvalidEvent, match=f"missing {attribute}"):
        CloudEvent.from_bytes(json.dumps(record).encode())
