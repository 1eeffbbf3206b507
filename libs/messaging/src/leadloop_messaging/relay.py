"""The outbox relay: publish unsent rows in order, mark them sent only after the broker acks.

One relay per schema is active at a time (a Postgres advisory lock held on the LISTEN
connection), so rows leave in id order, which keeps every lead's events in order. A relay that
dies between publishing and marking republishes those rows; consumers drop the duplicates by
event id.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import zlib
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import asyncpg
import sqlalchemy as sa
from aiokafka import AIOKafkaProducer
from aiokafka.errors import (
    CorruptRecordException,
    InvalidTimestampError,
    InvalidTopicError,
    KafkaError,
    MessageSizeTooLargeError,
    RecordListTooLargeError,
    RecordTooLargeError,
    UnsupportedForMessageFormatError,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from leadloop_db.tables import notify_channel
from leadloop_messaging.headers import record_headers
from leadloop_platform import metrics
from leadloop_platform.settings import to_asyncpg_url

log = logging.getLogger(__name__)
# What a lost, restarting or still-starting Postgres raises on the relay's own connection.
POSTGRES_AWAY = (
    OSError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.exceptions.OperatorInterventionError,  # admin shutdown, "starting up"
)
AfterPublish = Callable[[Sequence[int]], Awaitable[None]]
# id, topic, key, event_type, payload, event_id: the columns a batch reads.
_OutboxRow = sa.Row[*tuple[Any, ...]]
# The broker (or the producer, before sending) refuses the record itself: sending it again can
# never succeed, so the row is parked. Everything else (broker away, timeouts, authorization)
# is retried: the rows wait, and the backlog and age gauges rise until the alerts fire.
REFUSED_FOR_GOOD = (
    MessageSizeTooLargeError,
    RecordTooLargeError,
    RecordListTooLargeError,
    CorruptRecordException,
    InvalidTimestampError,
    InvalidTopicError,
    UnsupportedForMessageFormatError,
)


def _asyncpg_dsn(database_url: str) -> str:
    return to_asyncpg_url(database_url).replace("postgresql+asyncpg://", "postgresql://", 1)


class OutboxRelay:
    """Moves one schema's outbox to Kafka."""

    def __init__(
        self,
        *,
        service: str,
        engine: AsyncEngine,
        database_url: str,
        outbox: sa.Table,
        producer: AIOKafkaProducer,
        poll_interval_s: float = 1.0,
        batch_size: int = 500,
        retention_s: float = 86_400.0,
        after_publish: AfterPublish | None = None,
    ) -> None:
        self.service = service
        self.engine = engine
        self.dsn = _asyncpg_dsn(database_url)
        self.outbox = outbox
        self.schema = outbox.schema or "public"
        self.producer = producer
        self.poll_interval_s = poll_interval_s
        self.batch_size = batch_size
        self.retention_s = retention_s
        self.after_publish = after_publish
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._last_gauge = 0.0
        self._last_purge = 0.0
        # One array parameter, not an IN list of one parameter per row: the statement is the
        # same for every batch (prepared once) and nothing is rendered per row.
        ids = sa.bindparam("ids", type_=ARRAY(sa.BigInteger))
        self._mark_sent = (
            outbox.update().where(outbox.c.id == sa.any_(ids)).values(sent_at=sa.func.now())
        )

    def stop(self) -> None:
        """Finish the batch in hand, then return from `run`."""
        self._stopping.set()
        self._wake.set()

    async def run(self) -> None:
        """Hold the schema's relay lock, listen for NOTIFY, publish until stopped."""
        while not self._stopping.is_set():
            try:
                # Inside the try: Postgres may still be down (or starting) when we reconnect.
                listener = await asyncpg.connect(self.dsn)
            except POSTGRES_AWAY as exc:
                log.warning("outbox relay cannot reach Postgres (%s); retrying", exc)
                await self._sleep(self.poll_interval_s)
                continue
            try:
                await self._run_with(listener)
                log.info("outbox relay for schema %s stopped", self.schema)
                return
            except POSTGRES_AWAY as exc:
                log.warning("outbox relay lost Postgres (%s); reconnecting", exc)
                await self._sleep(self.poll_interval_s)
            finally:
                with contextlib.suppress(OSError, asyncpg.InterfaceError):
                    await listener.close()

    async def _run_with(self, listener: asyncpg.Connection) -> None:
        lock_key = zlib.crc32(f"outbox:{self.schema}".encode())
        while not await listener.fetchval("SELECT pg_try_advisory_lock($1)", lock_key):
            log.info("another relay holds the %s outbox; standing by", self.schema)
            if await self._sleep(self.poll_interval_s):
                return
        await listener.add_listener(notify_channel(self.schema), self._on_notify)
        log.info("outbox relay for schema %s is active", self.schema)
        while not self._stopping.is_set():
            if listener.is_closed():
                # The advisory lock went with the connection (a Postgres restart): win it again
                # before publishing, so that a standby relay and this one never both publish.
                raise asyncpg.InterfaceError("the relay's lock connection was closed")
            # Clear before reading: a NOTIFY that lands during the batch wakes the next round.
            self._wake.clear()
            try:
                sent = await self.publish_batch()
            except (KafkaError, DBAPIError) as exc:
                # The broker or the database is away: what was not acknowledged stays unsent.
                log.warning("outbox relay for %s will retry: %r", self.schema, exc)
                sent = 0
            # Also after a failure: the gauges must show a stuck outbox, or no alert fires.
            try:
                await self.update_gauges()
            except DBAPIError as exc:
                log.warning("outbox gauges for %s not updated: %r", self.schema, exc)
            if sent < self.batch_size:
                await self._sleep(self.poll_interval_s)

    def _on_notify(self, *_args: Any) -> None:
        self._wake.set()

    async def _sleep(self, seconds: float) -> bool:
        """Wait for a NOTIFY, the poll interval or stop; True when stopping."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), seconds)
        return self._stopping.is_set()

    async def publish_batch(self) -> int:
        """Publish the oldest unsent rows; mark those the broker acknowledged and park those it
        refused for good. Returns the count handled; raises when the broker is away."""
        rows = await self._read_unsent()
        if not rows:
            return 0
        results, away = await self._send_rows(rows)
        results = await _settle(results)
        acked, parked = self._classify(rows[: len(results)], results)
        if self.after_publish is not None:
            await self.after_publish(acked)
        await self._mark(acked, parked)
        if away is not None:
            raise away
        return len(acked) + len(parked)

    async def _read_unsent(self) -> Sequence[_OutboxRow]:
        """The oldest unsent, unparked rows, at most one batch, in id order."""
        o = self.outbox
        async with self.engine.connect() as conn:
            return (
                await conn.execute(
                    sa.select(o.c.id, o.c.topic, o.c.key, o.c.event_type, o.c.payload, o.c.event_id)
                    .where(o.c.sent_at.is_(None), o.c.parked_at.is_(None))
                    .order_by(o.c.id)
                    .limit(self.batch_size)
                )
            ).all()

    async def _send_rows(
        self, rows: Sequence[_OutboxRow]
    ) -> tuple[list[object], KafkaError | None]:
        """Hand each row to the producer, in order, until the broker is away.

        Returns one result per row sent (a future, or the refusal `send()` raised itself) and
        the error that stopped the round, if any.
        """
        # send() itself raises for a record over the producer's limit; the broker's refusal
        # arrives in the future. Both are the row's result, so rows around it go on.
        results: list[object] = []
        for row in rows:
            headers = record_headers(row.event_id, row.event_type)
            try:
                results.append(
                    await self.producer.send(
                        row.topic, value=row.payload, key=row.key.encode(), headers=headers
                    )
                )
            except REFUSED_FOR_GOOD as exc:
                results.append(exc)
            except KafkaError as exc:
                # The broker is away: settle what was sent, then retry the rest.
                return results, exc
        return results, None

    def _classify(
        self, rows: Sequence[_OutboxRow], results: Sequence[object]
    ) -> tuple[list[int], list[tuple[int, str]]]:
        """Split settled rows into acked ids and parked (id, error); count each outcome."""
        acked: list[int] = []
        parked: list[tuple[int, str]] = []
        failed_keys: set[str] = set()
        # Counted once per (topic, type, outcome), not per row: a label lookup per row was
        # about 5% of the relay's CPU.
        outcomes: Counter[tuple[str, str, str]] = Counter()
        for row, result in zip(rows, results, strict=True):
            if isinstance(result, REFUSED_FOR_GOOD):
                outcome = "parked"
                parked.append((row.id, f"{type(result).__name__}: {result}"))
                log.error(
                    "outbox row %s (%s, event %s, %d bytes) refused by the broker for good, "
                    "parked: %r",
                    row.id,
                    row.event_type,
                    row.event_id,
                    len(row.payload),
                    result,
                )
            elif isinstance(result, BaseException):
                outcome = "error"
                # A later row of the same lead must not be marked sent ahead of this one.
                failed_keys.add(row.key)
                log.warning("publishing outbox row %s failed: %r", row.id, result)
            else:
                outcome = "ok"
                if row.key not in failed_keys:
                    acked.append(row.id)
            outcomes[row.topic, row.event_type, outcome] += 1
        for (topic, event_type, outcome), count in outcomes.items():
            metrics.EVENTS_PUBLISHED.labels(self.service, topic, event_type, outcome).inc(count)
        return acked, parked

    async def _mark(self, acked: Sequence[int], parked: Sequence[tuple[int, str]]) -> None:
        """Mark acked rows sent and refused rows parked, in one transaction."""
        if not acked and not parked:
            return
        o = self.outbox
        async with self.engine.begin() as conn:
            if acked:
                await conn.execute(self._mark_sent, {"ids": list(acked)})
            for row_id, error in parked:
                await conn.execute(
                    o.update()
                    .where(o.c.id == row_id)
                    .values(parked_at=sa.func.now(), park_error=error[:2000])
                )

    async def update_gauges(self, *, force: bool = False) -> None:
        """Backlog, oldest age and parked rows, at most once a second unless `force`d."""
        now = time.monotonic()
        if now - self._last_gauge < 1.0 and not force:
            return
        self._last_gauge = now
        o = self.outbox
        async with self.engine.begin() as conn:
            count, oldest = (
                await conn.execute(
                    sa.select(
                        sa.func.count(),
                        sa.func.extract("epoch", sa.func.now() - sa.func.min(o.c.created_at)),
                    ).where(o.c.sent_at.is_(None), o.c.parked_at.is_(None))
                )
            ).one()
            parked = await conn.scalar(
                sa.select(sa.func.count()).select_from(o).where(o.c.parked_at.is_not(None))
            )
            if now - self._last_purge > 60.0:
                self._last_purge = now
                await conn.execute(
                    o.delete().where(
                        o.c.sent_at
                        < sa.func.now() - sa.text(f"interval '{int(self.retention_s)} seconds'")
                    )
                )
        metrics.OUTBOX_BACKLOG.labels(self.service).set(count)
        metrics.OUTBOX_OLDEST_AGE.labels(self.service).set(float(oldest or 0.0))
        metrics.OUTBOX_PARKED.labels(self.service).set(parked or 0)


async def _settle(results: Sequence[object]) -> list[object]:
    """Wait for every future among `results`; each becomes its record metadata or its error."""
    futures = [r for r in results if isinstance(r, asyncio.Future)]
    outcomes = iter(await asyncio.gather(*futures, return_exceptions=True))
    return [next(outcomes) if isinstance(r, asyncio.Future) else r for r in results]
