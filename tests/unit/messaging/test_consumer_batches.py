"""The consumer loop handles a partition's poll batch in one transaction, and a failing batch is
split so that only its poison record is retried and dead-lettered (in-memory store)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
from aiokafka import TopicPartition
from prometheus_client import REGISTRY
from sqlalchemy.exc import OperationalError

from leadloop_db.uow import UnitOfWork
from leadloop_events.envelope import CloudEvent, EventData, new_event
from leadloop_events.intake import LeadCaptured, LeadProfile

from .fakes import (
    ERASED,
    TOPIC,
    MemoryUnitOfWork,
    Store,
    erased,
    memory_loop,
    record_effect,
    records_of,
)


def consumed(service: str, outcome: str, event_type: str = ERASED) -> float:
    labels = {"service": service, "topic": TOPIC, "type": event_type, "outcome": outcome}
    return REGISTRY.get_sample_value("leadloop_events_consumed_total", labels) or 0.0


def timed(service: str) -> float:
    labels = {"service": service, "topic": TOPIC, "type": ERASED}
    return REGISTRY.get_sample_value("leadloop_handler_duration_seconds_count", labels) or 0.0


def failing_on(poison: set[str], calls: list[str]) -> Callable[..., object]:
    async def handler(uow: MemoryUnitOfWork, event: CloudEvent, data: EventData) -> None:
        calls.append(event.id)
        if event.id in poison:
            raise ValueError("the agreement has no rule for this")
        await record_effect(uow, event, data)

    return handler


class DeadlockError(Exception):
    sqlstate = "40P01"


async def test_a_batch_is_claimed_once_and_committed_in_one_transaction() -> None:
    store = Store()
    events = [erased(f"lead-ACME-{n}") for n in range(5)]
    loop = memory_loop(store)
    await loop.handle_batch(records_of([e.to_bytes() for e in events]))
    assert store.commits == [tuple(e.id for e in events)]
    assert store.claims == 1
    assert consumed(loop.service, "ok") == 5 and timed(loop.service) == 5


async def test_a_poison_record_alone_is_retried_and_dead_lettered_its_neighbours_applied() -> None:
    store = Store()
    events = [erased(f"lead-GLOBEX-{n}") for n in range(7)]
    poison = events[3]
    calls: list[str] = []
    loop = memory_loop(store, failing_on({poison.id}, calls), max_retries=2)
    await loop.handle_batch(records_of([e.to_bytes() for e in events]))
    before, after = tuple(e.id for e in events[:3]), tuple(e.id for e in events[4:])
    assert store.log == [("commit", before), ("dlq", (poison.id,)), ("commit", after)]
    # The failure in the batch is its first attempt; two retries alone; then the DLQ.
    assert calls.count(poison.id) == 3
    assert loop.dlq_producer.sent[0]["dlq.attempts"] == b"3"  # type: ignore[attr-defined]
    assert consumed(loop.service, "ok") == 6
    assert consumed(loop.service, "retried") == 3
    assert consumed(loop.service, "dead_lettered") == 1


async def test_a_batch_failing_at_commit_is_split_in_halves_until_the_poison_is_alone() -> None:
    store = Store()
    events = [erased(f"lead-INITECH-{n}") for n in range(8)]
    poison = events[5]
    store.refused_at_commit = {poison.id}
    loop = memory_loop(store, max_retries=1)
    await loop.handle_batch(records_of([e.to_bytes() for e in events]))
    assert store.dead_letters == [poison.id]
    assert store.effects == [e.id for e in events if e is not poison]
    # [0..4) and [4..8) fail; [0..4) commits; [4..6) fails: [4] commits, [5] is dead-lettered
    # after its retry; [6..8) commits.
    assert store.commits == [
        tuple(e.id for e in events[:4]),
        (events[4].id,),
        tuple(e.id for e in events[6:]),
    ]


async def test_duplicates_in_a_batch_and_before_it_are_skipped_and_counted() -> None:
    store = Store()
    seen, first, second = erased("lead-HOOLI-0"), erased("lead-HOOLI-1"), erased("lead-HOOLI-2")
    store.processed.add(seen.id)
    loop = memory_loop(store)
    batch = [first, first, seen, second, first]
    await loop.handle_batch(records_of([e.to_bytes() for e in batch]))
    assert store.commits == [(first.id, second.id)]
    assert consumed(loop.service, "ok") == 2 and consumed(loop.service, "duplicate") == 3


async def test_a_lost_database_retries_the_batch_and_never_dead_letters() -> None:
    store = Store(away=3)
    events = [erased(f"lead-UMBRELLA-{n}") for n in range(4)]
    loop = memory_loop(store, max_retries=0)
    await loop.handle_batch(records_of([e.to_bytes() for e in events]))
    assert store.commits == [tuple(e.id for e in events)]
    assert store.dead_letters == []
    assert consumed(loop.service, "retried") == 0 and consumed(loop.service, "ok") == 4


async def test_a_deadlock_retries_the_batch_without_counting_against_a_record() -> None:
    store = Store()
    events = [erased(f"lead-STARK-{n}") for n in range(4)]
    raised: list[str] = []

    async def deadlocks_once(uow: MemoryUnitOfWork, event: CloudEvent, data: EventData) -> None:
        if event.id == events[2].id and not raised:
            raised.append(event.id)
            raise OperationalError("UPDATE rr_state", {}, DeadlockError("deadlock detected"))
        await record_effect(uow, event, data)

    loop = memory_loop(store, deadlocks_once, max_retries=0)
    await loop.handle_batch(records_of([e.to_bytes() for e in events]))
    assert raised and store.commits == [tuple(e.id for e in events)]
    assert store.dead_letters == [] and consumed(loop.service, "retried") == 0


async def test_an_invalid_record_is_dead_lettered_in_its_place() -> None:
    store = Store()
    a, b, c, d = (erased(f"lead-WAYNE-{n}") for n in range(4))
    loop = memory_loop(store)
    await loop.handle_batch(
        records_of([a.to_bytes(), b.to_bytes(), b"{not json", c.to_bytes(), d.to_bytes()])
    )
    assert store.log == [
        ("commit", (a.id, b.id)),
        ("dlq", ("invalid",)),
        ("commit", (c.id, d.id)),
    ]


async def test_a_type_without_handler_is_ignored_and_not_claimed() -> None:
    store = Store()
    kept = erased("lead-ACME-DENTAL")
    other = new_event(
        LeadCaptured(
            lead_id="lead-ACME-DENTAL",
            submission_id="sub-1",
            is_new_lead=True,
            channel="form",
            profile=LeadProfile(email="ada@acme-dental.example", company="ACME Dental"),
            source="webinar",
            submitted_at=kept.time,
        ),
        source="/leadloop/intake",
        subject="lead-ACME-DENTAL",
    )
    loop = memory_loop(store)
    await loop.handle_batch(records_of([other.to_bytes(), kept.to_bytes()]))
    assert store.commits == [(kept.id,)] and store.processed == {kept.id}
    assert consumed(loop.service, "ignored", LeadCaptured.event_type) == 1


class PollingConsumer:
    """Hands one partition's records over `max_records` at a time; stops the loop when done."""

    def __init__(self, records: list[object]) -> None:
        self.records = records
        self.commits: list[int] = []
        self.loop: object = None

    async def getmany(self, *, timeout_ms: int, max_records: int) -> dict[object, list[object]]:
        taken, self.records = self.records[:max_records], self.records[max_records:]
        if not self.records:
            self.loop.stop()  # type: ignore[attr-defined]
        await asyncio.sleep(0)  # a poll yields to the event loop, as aiokafka's does
        return {TopicPartition(TOPIC, 0): taken} if taken else {}

    async def commit(self, offsets: dict[TopicPartition, int]) -> None:
        self.commits.extend(offsets.values())

    def assignment(self) -> set[TopicPartition]:
        return set()


@pytest.mark.parametrize(("batch_size", "transactions"), [(1, 7), (3, 3), (200, 1)])
async def test_each_poll_batch_is_one_transaction_then_its_offset_commit(
    batch_size: int, transactions: int
) -> None:
    store = Store()
    events = [erased(f"lead-ACME-{n}") for n in range(7)]
    consumer = PollingConsumer(records_of([e.to_bytes() for e in events]))  # type: ignore[arg-type]
    loop = memory_loop(store, consumer=consumer, batch_size=batch_size)
    consumer.loop = loop
    await asyncio.wait_for(loop.run(), 10)
    assert len(store.commits) == transactions == store.claims
    assert store.effects == [e.id for e in events]
    assert consumer.commits[-1] == 7 and len(consumer.commits) == transactions


def test_each_step_of_a_batch_sees_its_own_events_and_the_commit_writes_them_all() -> None:
    uow = UnitOfWork.__new__(UnitOfWork)
    uow.events, uow._earlier = [], []
    first, second, third = erased("lead-A"), erased("lead-B"), erased("lead-C")
    uow.next_step()
    uow.publish("leads.intake", first)
    uow.next_step()
    uow.publish_all([("leads.intake", second), ("leads.intake", third)])
    assert [e for _, e in uow.events] == [second, third]
    assert [e for _, e in uow.pending()] == [first, second, third]


class ManyPartitions:
    """One poll over six partitions, two records each; stops the loop after it."""

    def __init__(self, events: list[CloudEvent]) -> None:
        self.polled = {
            TopicPartition(TOPIC, n): records_of(
                [e.to_bytes() for e in events[2 * n : 2 * n + 2]], partition=n
            )
            for n in range(len(events) // 2)
        }
        self.commits: list[dict[TopicPartition, int]] = []
        self.loop: object = None

    async def getmany(self, *, timeout_ms: int, max_records: int) -> dict[object, list[object]]:
        self.loop.stop()  # type: ignore[attr-defined]
        await asyncio.sleep(0)  # a poll yields to the event loop, as aiokafka's does
        polled, self.polled = self.polled, {}
        return polled  # type: ignore[return-value]

    async def commit(self, offsets: dict[TopicPartition, int]) -> None:
        self.commits.append(offsets)

    def assignment(self) -> set[TopicPartition]:
        return set()


async def test_a_poll_over_many_partitions_is_one_transaction_then_every_offset() -> None:
    store = Store()
    events = [erased(f"lead-WAYNE-{n}") for n in range(12)]
    consumer = ManyPartitions(events)
    loop = memory_loop(store, consumer=consumer)
    consumer.loop = loop
    await asyncio.wait_for(loop.run(), 10)
    # Each partition's records in offset order, all six partitions in one transaction.
    assert store.commits == [tuple(e.id for e in events)] and store.claims == 1
    assert consumer.commits == [{TopicPartition(TOPIC, n): 2 for n in range(6)}]


async def test_a_poison_record_in_one_partition_leaves_the_other_partitions_applied() -> None:
    store = Store()
    events = [erased(f"lead-STARK-{n}") for n in range(12)]
    poison = events[7]
    consumer = ManyPartitions(events)
    loop = memory_loop(store, failing_on({poison.id}, []), consumer=consumer, max_retries=0)
    consumer.loop = loop
    await asyncio.wait_for(loop.run(), 10)
    assert store.dead_letters == [poison.id]
    assert store.effects == [e.id for e in events if e is not poison]
    assert consumer.commits == [{TopicPartition(TOPIC, n): 2 for n in range(6)}]


class TwoPartitions(ManyPartitions):
    """One poll: partition 0 holds `first`, partition 1 holds `second`."""

    def __init__(self, first: list[CloudEvent], second: list[CloudEvent]) -> None:
        self.polled = {
            TopicPartition(TOPIC, n): records_of([e.to_bytes() for e in events], partition=n)
            for n, events in enumerate([first, second])
        }
        self.commits = []
        self.loop = None


async def test_a_failing_record_is_retried_after_the_other_partitions_records() -> None:
    # A lead's event that needs what another partition brings in the same poll (an agreement,
    # say) fails in the poll's transaction; the other partition's records are applied before
    # its retry, and its own partition's next record only after it (offset order).
    store = Store()
    needs, after, brings = erased("lead-A-0"), erased("lead-A-1"), erased("agreement")

    async def handler(uow: MemoryUnitOfWork, event: CloudEvent, data: EventData) -> None:
        if event.id == needs.id and brings.id not in store.effects:
            raise ValueError("no agreement yet")
        await record_effect(uow, event, data)

    consumer = TwoPartitions([needs, after], [brings])
    loop = memory_loop(store, handler, consumer=consumer, max_retries=1)
    consumer.loop = loop
    await asyncio.wait_for(loop.run(), 10)
    assert store.dead_letters == []
    assert store.effects == [brings.id, needs.id, after.id]
