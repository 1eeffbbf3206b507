"""A handler that takes the batch: called once per maximal run of consecutive records of its
types (per-event handlers for the others, in offset order, one transaction); a run that fails is
split until its poison is alone, which is retried and dead-lettered as before (in-memory store)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from leadloop_db.tables import processed_events_table
from leadloop_events.envelope import CloudEvent, EventData, new_event
from leadloop_events.intake import ActivityRecorded, LeadCaptured, LeadErased, LeadProfile
from leadloop_messaging.batch import BatchHandler
from leadloop_messaging.consumer import ConsumerLoop
from leadloop_runtime import Registry
from leadloop_runtime.registry import EventHandler

from .fakes import DeadLetterProducer, MemoryLedger, MemoryUnitOfWork, Store, erased, records_of

Items = Sequence[tuple[CloudEvent, EventData]]
AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def captured(lead: str) -> CloudEvent:
    data = LeadCaptured(
        lead_id=lead,
        submission_id=f"sub-{uuid.uuid4().hex[:8]}",
        is_new_lead=True,
        channel="form",
        profile=LeadProfile(email=f"{lead.lower()}@acme-dental.example", company="ACME Dental"),
        submitted_at=AT,
    )
    return new_event(data, source="/leadloop/intake", subject=lead)


def page_view(lead: str) -> CloudEvent:
    data = ActivityRecorded(
        lead_id=lead,
        activity_id=f"act-{uuid.uuid4().hex[:8]}",
        activity_type="page_view",
        occurred_at=AT,
    )
    return new_event(data, source="/leadloop/intake", subject=lead)


class Scoring:
    """A batch handler for captures and activities, a per-event one for erasures; what each
    was handed, and which events make the batch handler raise."""

    def __init__(self, poison: set[str] | None = None) -> None:
        self.runs: list[list[str]] = []
        self.erasures: list[str] = []
        self.poison = poison or set()
        self.away = 0  # the next `away` runs fail as a lost connection does

    async def score(self, uow: MemoryUnitOfWork, items: Items) -> None:
        self.runs.append([event.id for event, _ in items])
        if self.away:
            self.away -= 1
            raise ConnectionResetError("the database connection was lost")
        if self.poison.intersection(event.id for event, _ in items):
            raise ValueError("the agreement has no rule for this")
        for event, _ in items:
            uow.effects.append(event.id)
            uow.publish("leads.lifecycle", event)

    async def erase(self, uow: MemoryUnitOfWork, event: CloudEvent, data: EventData) -> None:
        self.erasures.append(event.id)
        uow.effects.append(event.id)

    def registry(self) -> Registry[MemoryUnitOfWork]:
        registry: Registry[MemoryUnitOfWork] = Registry()
        registry.batch(LeadCaptured, ActivityRecorded)(self.score)
        registry.on(LeadErased)(self.erase)
        return registry


def loop_of(store: Store, registry: Registry[MemoryUnitOfWork]) -> ConsumerLoop[MemoryUnitOfWork]:
    return ConsumerLoop(
        service=f"unit-{uuid.uuid4().hex[:8]}",
        consumer_name="unit-consumer",
        consumer=None,  # type: ignore[arg-type]
        dlq_producer=DeadLetterProducer(store),  # type: ignore[arg-type]
        uow_factory=lambda: MemoryUnitOfWork(store),
        processed=processed_events_table(sa.MetaData()),
        handlers=registry.handlers(),
        max_retries=2,
        retry_backoff_s=0.0,
        ledger=MemoryLedger(store),  # type: ignore[arg-type]
    )


def ids(events: Sequence[CloudEvent]) -> list[str]:
    return [e.id for e in events]


async def test_consecutive_records_of_its_types_go_to_the_batch_handler_as_one_run() -> None:
    store, scoring = Store(), Scoring()
    a, b, c = captured("lead-A"), page_view("lead-A"), captured("lead-B")
    gone, d, e = erased("lead-C"), page_view("lead-D"), captured("lead-D")
    events = [a, b, a, c, gone, d, e]  # `a` again: a duplicate inside the run
    await loop_of(store, scoring.registry()).handle_batch(
        records_of([x.to_bytes() for x in events])
    )
    assert scoring.runs == [ids([a, b, c]), ids([d, e])]
    assert scoring.erasures == [gone.id]
    assert store.commits == [tuple(ids([a, b, c, gone, d, e]))]
    assert store.claims == 1


async def test_a_lone_record_of_its_types_is_handed_over_as_a_run_of_one() -> None:
    store, scoring = Store(), Scoring()
    a, gone = captured("lead-A"), erased("lead-B")
    await loop_of(store, scoring.registry()).handle_batch(
        records_of([a.to_bytes(), gone.to_bytes()])
    )
    assert scoring.runs == [[a.id]]
    assert store.commits == [(a.id, gone.id)]


async def test_a_poison_inside_a_run_is_split_out_alone_and_dead_lettered() -> None:
    events = [captured(f"lead-GLOBEX-{n}") for n in range(6)]
    poison = events[3]
    store, scoring = Store(), Scoring(poison={poison.id})
    loop = loop_of(store, scoring.registry())
    await loop.handle_batch(records_of([x.to_bytes() for x in events]))
    before, after = tuple(ids(events[:3])), tuple(ids(events[4:]))
    assert store.log == [("commit", before), ("dlq", (poison.id,)), ("commit", after)]
    # The run fails and cannot name its record: halves until the poison is alone; alone it is
    # tried once, then retried twice (max_retries), then dead-lettered, by itself.
    assert scoring.runs.count([poison.id]) == 3
    assert [run for run in scoring.runs if poison.id in run and len(run) > 1] == [
        ids(events),
        ids(events[3:]),
    ]
    assert loop.dlq_producer.sent[0]["dlq.attempts"] == b"3"  # type: ignore[attr-defined]


async def test_a_run_losing_the_database_waits_and_is_applied_whole_never_dead_lettered() -> None:
    events = [captured("lead-A"), page_view("lead-A"), captured("lead-B")]
    store, scoring = Store(), Scoring()
    scoring.away = 2
    await loop_of(store, scoring.registry()).handle_batch(
        records_of([x.to_bytes() for x in events])
    )
    assert scoring.runs == [ids(events)] * 3
    assert store.log == [("commit", tuple(ids(events)))]


async def test_a_wrapper_sees_each_run_and_per_event_step_with_only_its_own_events() -> None:
    store, scoring = Store(), Scoring()
    seen: list[tuple[str, list[str]]] = []

    def around(handler: EventHandler[MemoryUnitOfWork]) -> EventHandler[MemoryUnitOfWork]:
        async def wrapper(uow: MemoryUnitOfWork, event: CloudEvent, data: EventData) -> None:
            uow.publish("leads.lifecycle", event)
            await handler(uow, event, data)
            seen.append(("event", [e.id for _, e in uow.events]))

        return wrapper

    def around_batch(handler: BatchHandler[MemoryUnitOfWork]) -> BatchHandler[MemoryUnitOfWork]:
        async def wrapper(uow: MemoryUnitOfWork, items: Items) -> None:
            await handler(uow, items)
            seen.append(("run", [e.id for _, e in uow.events]))

        return wrapper

    registry = scoring.registry().wrapped(around, around_batch)
    a, b, gone, c = captured("lead-A"), page_view("lead-A"), erased("lead-B"), captured("lead-C")
    uows: list[MemoryUnitOfWork] = []

    def opened() -> MemoryUnitOfWork:
        uows.append(MemoryUnitOfWork(store))
        return uows[-1]

    loop = loop_of(store, registry)
    loop.uow_factory = opened
    await loop.handle_batch(records_of([x.to_bytes() for x in [a, b, gone, c]]))
    assert seen == [("run", ids([a, b])), ("event", [gone.id]), ("run", [c.id])]
    assert [e.id for _, e in uows[0].pending()] == ids([a, b, gone, c])


def test_a_per_event_wrapper_alone_refuses_a_registry_with_a_batch_handler() -> None:
    registry = Scoring().registry()
    with pytest.raises(ValueError, match="batch handler"):
        registry.wrapped(lambda handler: handler)


def test_the_types_a_batch_handler_takes_share_it_and_stay_registered_once() -> None:
    registry = Scoring().registry()
    handlers = registry.handlers()
    assert handlers[LeadCaptured.event_type] is handlers[ActivityRecorded.event_type]
    with pytest.raises(ValueError, match="already has a handler"):
        registry.batch(LeadCaptured)(Scoring().score)
    wrapped = registry.wrapped(lambda h: h, lambda h: h).handlers()
    assert wrapped[LeadCaptured.event_type] is wrapped[ActivityRecorded.event_type]
