"""One transaction for a partition's poll batch: one set-based claim of the processed-event ids,
the handlers in offset order, one commit (one outbox insert and one NOTIFY).

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


class HandlerFailed(Exception):
    """The handler of `items[index]` raised `error` inside the batch's transaction."""

    def __init__(self, index: int, error: Exception) -> None:
        super().__init__(f"the handler of item {index} failed: {error!r}")
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
    """Claim, run each claimed item's handler in offset order, commit: one transaction.

    A handler's exception comes out as HandlerFailed (which item, what error); the claim's or
    the commit's as itself. Nothing is committed then.
    """
    started = time.perf_counter()
    outcomes: list[str] = []
    spent: list[float] = []
    async with uow_factory() as uow:
        unclaimed = await ledger.claim(
            uow, [item.record for item in items], [item.event.id for item in items]
        )
        for index, item in enumerate(items):
            if item.event.id not in unclaimed:
                outcomes.append("duplicate")
                spent.append(0.0)
                continue
            unclaimed.discard(item.event.id)  # the same id later in the batch: a duplicate
            spent.append(await _run_handler(uow, item, index))
            outcomes.append("ok")
        await uow.commit()
    # The claim and the commit are shared: each item takes its part, so the latencies of a
    # batch add up to its transaction's time.
    shared = (time.perf_counter() - started - sum(spent)) / len(items)
    return Applied(outcomes, [own + shared for own in spent])


async def _run_handler(uow: U, item: Item[U], index: int) -> float:
    """Run one item's handler as its own step of the batch; the seconds it took."""
    uow.next_step()
    token = correlation_id.set(item.event.correlationid)
    began = time.perf_counter()
    try:
        await item.handler(uow, item.event, item.data)
    except Exception as exc:
        raise HandlerFailed(index, exc) from exc
    finally:
        correlation_id.reset(token)
    return time.perf_counter() - began
