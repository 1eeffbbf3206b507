"""The consumer skips a record on its type header when no handler takes that type, without
parsing its value; a handled type in the header is always parsed and checked, and must be the
body's own type (in-memory store)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest
from aiokafka import ConsumerRecord
from prometheus_client import REGISTRY

from leadloop_events.envelope import CloudEvent, new_event
from leadloop_events.feedback import DealClosed
from leadloop_events.intake import LeadCaptured, LeadProfile
from leadloop_messaging.headers import TYPE_HEADER, declared_type

from .fakes import ERASED, TOPIC, Store, erased, memory_loop, records_of

CAPTURED = LeadCaptured.event_type
NOT_JSON = b"\x00 not a CloudEvent {"


def captured(lead: str) -> CloudEvent:
    return new_event(
        LeadCaptured(
            lead_id=lead,
            submission_id=f"sub-{lead}",
            is_new_lead=True,
            channel="form",
            profile=LeadProfile(email="ada@acme-dental.example", company="ACME Dental"),
            source="webinar",
            submitted_at=datetime.now(UTC),
        ),
        source="/leadloop/intake",
        subject=lead,
    )


def typed(values: list[tuple[bytes, str | None]]) -> list[ConsumerRecord[bytes, bytes]]:
    """One partition's records holding each value, with the type header when one is given."""
    records = records_of([value for value, _ in values])
    return [
        dataclasses.replace(r, headers=[] if t is None else [(TYPE_HEADER, t.encode())])
        for r, (_, t) in zip(records, values, strict=True)
    ]


def consumed(service: str, outcome: str, event_type: str) -> float:
    labels = {"service": service, "topic": TOPIC, "type": event_type, "outcome": outcome}
    return REGISTRY.get_sample_value("leadloop_events_consumed_total", labels) or 0.0


async def test_a_foreign_type_in_the_header_is_skipped_without_parsing_the_value() -> None:
    store = Store()
    kept = erased("lead-ACME-DENTAL")
    loop = memory_loop(store)
    # The value is not even JSON: parsed, it would go to the dead-letter topic.
    await loop.handle_batch(typed([(NOT_JSON, CAPTURED), (kept.to_bytes(), ERASED)]))
    assert store.log == [("commit", (kept.id,))]
    assert consumed(loop.service, "ignored", CAPTURED) == 1


async def test_without_the_header_a_record_is_parsed_as_before() -> None:
    store = Store()
    other, kept = captured("lead-GLOBEX"), erased("lead-GLOBEX")
    loop = memory_loop(store)
    await loop.handle_batch(
        typed([(other.to_bytes(), None), (NOT_JSON, None), (kept.to_bytes(), None)])
    )
    assert store.log == [("dlq", ("invalid",)), ("commit", (kept.id,))]
    assert consumed(loop.service, "ignored", CAPTURED) == 1


async def test_a_handled_type_in_the_header_is_parsed_and_must_be_the_bodys_type() -> None:
    store = Store()
    disguised, kept = captured("lead-INITECH"), erased("lead-INITECH")
    loop = memory_loop(store)
    await loop.handle_batch(typed([(disguised.to_bytes(), ERASED), (kept.to_bytes(), ERASED)]))
    assert store.log == [("dlq", (disguised.id,)), ("commit", (kept.id,))]
    assert loop.dlq_producer.sent[0]["dlq.error"].startswith(b"the leadloop_type header says")  # type: ignore[attr-defined]


async def test_a_handled_type_in_the_header_with_a_broken_value_is_dead_lettered() -> None:
    store = Store()
    loop = memory_loop(store)
    await loop.handle_batch(typed([(NOT_JSON, ERASED)]))
    assert store.log == [("dlq", ("invalid",))]


@pytest.mark.parametrize(
    "declared", [DealClosed.event_type, "leadloop.lead.invented.v1"], ids=["other topic", "unknown"]
)
async def test_a_header_naming_no_type_of_this_topic_is_parsed_and_checked(declared: str) -> None:
    store = Store()
    forged = erased("lead-UMBRELLA")
    loop = memory_loop(store)
    await loop.handle_batch(typed([(NOT_JSON, declared), (forged.to_bytes(), declared)]))
    # Neither skipped on its header: both dead-lettered, the second for the header's lie.
    assert store.log == [("dlq", ("invalid",)), ("dlq", (forged.id,))]
    assert consumed(loop.service, "ignored", declared) == 0


async def test_a_lying_foreign_header_can_only_skip_a_record_never_apply_it() -> None:
    store = Store()
    hidden = erased("lead-HOOLI")
    loop = memory_loop(store)
    await loop.handle_batch(typed([(hidden.to_bytes(), CAPTURED)]))
    # The relay writes the header from the row's own type: only a forger's record differs, and
    # skipping it applies nothing (the store is untouched, nothing claimed).
    assert store.log == [] and store.processed == set()


def test_the_last_type_header_is_the_declared_one() -> None:
    (record,) = records_of([b"{}"])
    assert declared_type(record) is None
    twice = dataclasses.replace(record, headers=[(TYPE_HEADER, b"a.v1"), (TYPE_HEADER, b"b.v1")])
    assert declared_type(twice) == "b.v1"
    broken = dataclasses.replace(record, headers=[(TYPE_HEADER, b"\xff")])
    assert declared_type(broken) == "\ufffd"
