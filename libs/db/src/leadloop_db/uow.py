"""The unit of work: one transaction for the state change and the events it causes."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Sequence
from types import TracebackType
from typing import Any, ClassVar, Concatenate, Generic, ParamSpec, Self, TypeVar

import sqlalchemy as sa
from prometheus_client import Histogram
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from leadloop_db.tables import notify_channel
from leadloop_events.envelope import CloudEvent
from leadloop_events.limits import MAX_EVENT_BYTES
from leadloop_platform.http.problems import Problem


class EventTooLarge(Problem, ValueError):
    """An event whose record would exceed what the broker takes: a 413 at an HTTP edge, a
    failing handler (hence a dead letter) in a consumer, never an outbox row that jams the relay."""

    def __init__(self, event: CloudEvent, size: int) -> None:
        super().__init__(
            413,
            f"the {event.type} event this request causes would be {size} bytes; "
            f"at most {MAX_EVENT_BYTES} are accepted",
            kind="event-too-large",
        )
        self.size = size


CommittedObserver = Callable[[Sequence[CloudEvent]], None]


OUTBOX_COLUMNS = ("event_id", "topic", "key", "event_type", "payload")


@functools.cache
def write_outbox(outbox: sa.Table) -> sa.Select[Any]:
    """The pending events' outbox rows and the NOTIFY that wakes the relay, as one statement
    built once per table: one array per column, unnested in the events' order (ids follow it,
    hence per-lead order), and `pg_notify`, delivered at commit like NOTIFY."""
    arrays = [sa.bindparam(name, type_=ARRAY(outbox.c[name].type)) for name in OUTBOX_COLUMNS]
    columns = [sa.column(name, outbox.c[name].type) for name in OUTBOX_COLUMNS]
    rows = sa.func.unnest(*arrays).table_valued(*columns, with_ordinality="n").render_derived("r")
    written = outbox.insert().from_select(
        list(OUTBOX_COLUMNS), sa.select(*(rows.c[n] for n in OUTBOX_COLUMNS)).order_by(rows.c.n)
    )
    wake = sa.func.pg_notify(notify_channel(outbox.schema or "public"), "")
    return sa.select(wake).add_cte(written.cte("written"))


class UnitOfWork:
    """Handlers change state through `conn` and record events; `commit` writes both at once.

    Nothing else calls commit. Leaving the block without `commit()` rolls everything back.
    Metrics come from what committed, never from lines inside handlers: a service's unit of work
    names its `observers` (called with the events of each committed transaction), and a handler
    that measures something no event carries hands it to `observe`, which counts it only if the
    transaction commits.
    """

    observers: ClassVar[Sequence[CommittedObserver]] = ()

    def __init__(self, engine: AsyncEngine, outbox: sa.Table, topic_prefix: str = "") -> None:
        self.engine = engine
        self.outbox = outbox
        self.topic_prefix = topic_prefix
        self.events: list[tuple[str, CloudEvent]] = []
        self._earlier: list[tuple[str, CloudEvent]] = []
        self.observations: list[tuple[Histogram, tuple[str, ...], float]] = []
        # What a handler loads once per transaction (a consumer batch is one) and reuses in the
        # next event's step: valid until this transaction ends, never carried into the next.
        self.cache: dict[str, Any] = {}
        self._conn: AsyncConnection | None = None
        self.committed = False

    @property
    def conn(self) -> AsyncConnection:
        if self._conn is None:
            raise RuntimeError("the unit of work is not open")
        return self._conn

    async def __aenter__(self) -> Self:
        self._conn = await self.engine.connect()
        await self._conn.begin()
        self.events = []
        self._earlier = []
        self.observations = []
        self.cache = {}
        self.committed = False
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        conn = self.conn
        try:
            if conn.in_transaction():
                await conn.rollback()
        finally:
            await conn.close()
            self._conn = None
            self.cache = {}

    def publish(self, topic: str, event: CloudEvent) -> None:
        """Record an event to be written to the outbox at commit."""
        self.events.append((topic, event))

    def publish_all(self, items: Sequence[tuple[str, CloudEvent]]) -> None:
        """Record several events, in order."""
        self.events.extend(items)

    def next_step(self) -> None:
        """Start the next event's step in a consumer batch: `events` then holds only what that
        event's handler publishes (what a handler wrapper reads); the earlier steps' events
        stay queued and are written by the same commit, in order."""
        self._earlier.extend(self.events)
        self.events = []

    def pending(self) -> list[tuple[str, CloudEvent]]:
        """Every event the commit will write, in order: the earlier steps', then this one's."""
        return [*self._earlier, *self.events]

    def observe(self, histogram: Histogram, value: float, *labels: str) -> None:
        """A measurement that counts only if this transaction commits."""
        self.observations.append((histogram, labels, value))

    async def prepare(self, events: Sequence[CloudEvent]) -> None:
        """Called once per consumer batch, after its claim and before its handlers, with the
        events it will apply. A service whose batches share rows with other batches running at
        the same time (another topic's batch about the same leads) locks them here, all in one
        order, so that two batches never wait on each other crosswise. Nothing here."""

    async def flush(self) -> None:
        """Write what a service's unit keeps until commit (a batch's deferred writes); called by
        `commit` first, inside the transaction. Nothing here; services override it."""

    async def commit(self) -> None:
        """Write what the service deferred (`flush`), then the outbox rows and the relay's
        wake-up (one statement), and commit in one transaction: once per consumer batch,
        whatever the number of its events."""
        await self.flush()
        conn = self.conn
        pending = self.pending()
        if pending:
            columns: dict[str, list[Any]] = {name: [] for name in OUTBOX_COLUMNS}
            for topic, event in pending:
                payload = event.to_bytes()
                if len(payload) > MAX_EVENT_BYTES:
                    raise EventTooLarge(event, len(payload))
                columns["event_id"].append(event.id)
                columns["topic"].append(self.topic_prefix + topic)
                columns["key"].append(event.subject or event.id)
                columns["event_type"].append(event.type)
                columns["payload"].append(payload)
            await conn.execute(write_outbox(self.outbox), columns)
        await conn.commit()
        self.committed = True
        events = [event for _, event in pending]
        for observer in self.observers:
            observer(events)
        for histogram, labels, value in self.observations:
            (histogram.labels(*labels) if labels else histogram).observe(value)
        self.observations = []


U = TypeVar("U", bound=UnitOfWork)
P = ParamSpec("P")
R = TypeVar("R")


class Transactions(Generic[U]):
    """The one way to change state: open a unit of work, run a handler in it, commit once.

    An HTTP command, a worker's round and a start hook all go through `run`; the consumer loop
    does the same for an event. A handler that raises commits nothing.
    """

    def __init__(self, uow_factory: Callable[[], U]) -> None:
        self.uow_factory = uow_factory

    async def run(
        self,
        handler: Callable[Concatenate[U, P], Awaitable[R]],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> R:
        """`handler(uow, *args, **kwargs)` in a fresh unit of work, committed once; its result."""
        async with self.uow_factory() as uow:
            result = await handler(uow, *args, **kwargs)
            await uow.commit()
        return result
