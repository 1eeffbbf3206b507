"""One transaction for a poll's records (every partition's, each in offset order): one set-based
claim of the processed-event ids, the unit of work's `prepare` (a service's locks, in one order),
the handlers in offset order, one commit (one outbox statement that also wakes the relay).

A handler that takes the batch (`TakesBatches`, declared with `Registry.batch`) is called once
for each maximal run of consecutive claimed items whose types it takes, with the run's events in
offset order; per-event handlers are called one item at a time as before. A run of one calls the
batch handler with that one item, so a suspect retried alone goes through the same code.

The consumer loop (`leadloop_messaging.consumer`) decides what to do when a batch fails: wait for
the database, retry a deadlock, or split the batch to find the poison record.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

import sqlalchemy as sa
from aiokafka import ConsumerRecord
from sqlalchemy.dialects.postgresql import ARRAY, insert
from sqlalchemy.exc import DBAPIError

from leadloop_db.uow import UnitOfWork
from leadloop_events.envelope import CloudEvent, EventData
from leadloop_platform.logs import correlation_id

U = TypeVar("U", bound=UnitOfWork)
U_contra = TypeVar("U_contra", bound=UnitOfWork, contravariant=True)
Handler = Callable[[U, CloudEvent, EventData], Awaitable[None]]
BatchHandler = Callable[[U, Sequence[tuple[CloudEvent, EventData]]], Awaitable[None]]
# SQLSTATEs of a server that is unreachable or refusing connections: class 08, and
# admin_shutdown, crash_shutdown, cannot_connect_now ("shutting down", "starting up").
AWAY_SQLSTATES = ("08", "57P01", "57P02", "57P03")
# deadlock_detected, serialization_failure: the transaction lost a race, not the record's fault.
RACE_SQLSTATES = frozenset({"40P01", "40001"})


def database_away(exc: DBAPIError) -> bool:
    """True when Postgres is lost, restarting or refusing connections: not the record's fault."""
    if exc.connection_invalidated or isinstance(exc.orig, OSError):
        return True
    sqlstate = getattr(exc.orig, "sqlstate", None)
    return isinstance(sqlstate, str) and sqlstate.startswith(AWAY_SQLSTATES)


def lost_race(exc: BaseException) -> bool:
    """True for a deadlock or a serialization failure: retry the same batch, count nothing."""
    if not isinstance(exc, DBAPIError):
        return False
    return getattr(exc.orig, "sqlstate", None) in RACE_SQLSTATES


@dataclass(frozen=True)
class Item(Generic[U]):
    """A decoded record and the handler of its type."""

    record: ConsumerRecord[bytes, bytes]
    event: CloudEvent
    data: EventData
    handler: Handler[U]


class TakesBatches(Generic[U]):
    """The handler of every type one batch handler takes: called per event, it hands the batch
    handler a run of one; `apply_batch` hands it whole runs of consecutive items instead."""

    def __init__(self, batch: BatchHandler[U]) -> None:
        self.batch = batch
        self.__name__ = getattr(batch, "__name__", type(batch).__name__)

    async def __call__(self, uow: U, event: CloudEvent, data: EventData) -> None:
        """Apply one event: the batch handler with a batch of one."""
        await self.batch(uow, [(event, data)])


class HandlerFailed(Exception):
    """The handler of `items[index]` raised `error` inside the batch's transaction; `index` is
    None when a batch handler raised for a run of several items (which one it cannot say)."""

    def __init__(self, index: int | None, error: Exception) -> None:
        which = "a run of a batch handler" if index is None else f"item {index}"
        super().__init__(f"the handler of {which} failed: {error!r}")
        self.index = index
        self.error = error


@dataclass(frozen=True)
class Applied:
    """A committed batch: each item's outcome ("ok" or "duplicate") and its share of the time."""

    outcomes: list[str]
    seconds: list[float]


class Ledger(Protocol[U_contra]):
    """Where a consumer claims the event ids it handles: a claimed id is handled once."""

    async def claim(
        self, uow: U_contra, records: Sequence[ConsumerRecord[bytes, bytes]], ids: Sequence[str]
    ) -> set[str]:
        """Claim the event ids (`ids[i]` read from `records[i]`, all of one partition) inside
        `uow`; the ids not claimed before."""
        ...


class SqlLedger:
    """The service's processed-events table; one INSERT ... SELECT FROM unnest(...) ON CONFLICT
    DO NOTHING RETURNING per batch, its statement built once."""

    def __init__(self, processed: sa.Table, consumer: str) -> None:
        self.consumer = consumer
        rows = (
            sa.func.unnest(
                sa.bindparam("ids", type_=ARRAY(sa.String())),
                sa.bindparam("offsets", type_=ARRAY(sa.BigInteger())),
            )
            .table_valued("event_id", "offset")
            .render_derived(name="claimed")
        )
        c = processed.c
        self.statement = (
            insert(processed)
            .from_select(
                [c.consumer, c.event_id, c.topic, c.partition, c.offset],
                sa.select(
                    sa.bindparam("consumer", type_=sa.String()),
                    rows.c.event_id,
                    sa.bindparam("topic", type_=sa.String()),
                    sa.bindparam("partition", type_=sa.Integer()),
                    rows.c.offset,
                ),
            )
            .on_conflict_do_nothing()
            .returning(c.event_id)
        )

    async def claim(
        self, uow: UnitOfWork, records: Sequence[ConsumerRecord[bytes, bytes]], ids: Sequence[str]
    ) -> set[str]:
        """Claim the ids of one partition's records; a repeated id is claimed by its first."""
        result = await uow.conn.execute(
            self.statement,
            {
                "consumer": self.consumer,
                "topic": records[0].topic,
                "partition": records[0].partition,
                "ids": list(ids),
                "offsets": [record.offset for record in records],
            },
        )
        return set(result.scalars())


async def apply_batch(
    uow_factory: Callable[[], U], ledger: Ledger[U], items: Sequence[Item[U]]
) -> Applied:
    """Claim, run the claimed items' handlers in offset order, commit: one transaction.

    A handler's exception comes out as HandlerFailed (which item, or None for a batch handler's
    run of several, and what error); the claim's or the commit's as itself. Nothing is committed
    then.
    """
    started = time.perf_counter()
    outcomes = ["duplicate"] * len(items)
    spent = [0.0] * len(items)
    async with uow_factory() as uow:
        unclaimed = await ledger.claim(
            uow, [item.record for item in items], [item.event.id for item in items]
        )
        claimed: list[int] = []
        for index, item in enumerate(items):
            if item.event.id in unclaimed:
                unclaimed.discard(item.event.id)  # the same id later in the batch: a duplicate
                claimed.append(index)
                outcomes[index] = "ok"
        await uow.prepare([items[index].event for index in claimed])
        for run in runs(items, claimed):
            seconds = await _run_handler(uow, items, run)
            for index in run:
                spent[index] = seconds / len(run)
        await uow.commit()
    # The claim and the commit are shared: each item takes its part, so the latencies of a
    # batch add up to its transaction's time.
    shared = (time.perf_counter() - started - sum(spent)) / len(items)
    return Applied(outcomes, [own + shared for own in spent])


def runs(items: Sequence[Item[U]], claimed: Sequence[int]) -> list[list[int]]:
    """The claimed indexes in order, grouped: a maximal run of consecutive claimed items taken
    by one batch handler together (a duplicate between them, which applies nothing, does not
    end the run), every other item alone."""
    grouped: list[list[int]] = []
    for index in claimed:
        handler = items[index].handler
        together = isinstance(handler, TakesBatches) and bool(grouped)
        if together and items[grouped[-1][-1]].handler is handler:
            grouped[-1].append(index)
        else:
            grouped.append([index])
    return grouped


async def _run_handler(uow: U, items: Sequence[Item[U]], run: Sequence[int]) -> float:
    """Run one item's handler, or a batch handler over a run, as its own step of the batch (its
    events alone in `uow.events`); the seconds it took."""
    uow.next_step()
    first = items[run[0]]
    token = correlation_id.set(first.event.correlationid if len(run) == 1 else None)
    began = time.perf_counter()
    try:
        handler = first.handler
        if len(run) == 1:
            await handler(uow, first.event, first.data)
        else:
            assert isinstance(handler, TakesBatches)
            await handler.batch(uow, [(items[i].event, items[i].data) for i in run])
    except Exception as exc:
        raise HandlerFailed(run[0] if len(run) == 1 else None, exc) from exc
    finally:
        correlation_id.reset(token)
    return time.perf_counter() - began
