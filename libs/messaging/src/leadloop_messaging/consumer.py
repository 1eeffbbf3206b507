"""The consumer loop: dedupe by constraint, commit offsets only after the handler's transaction,
retry with backoff, then dead-letter the record and move on."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Generic, TypeVar

import sqlalchemy as sa
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.errors import CommitFailedError, KafkaError
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import DBAPIError

from leadloop_db.uow import UnitOfWork
from leadloop_events import topics
from leadloop_events.catalog import check_origin, parse_data
from leadloop_events.envelope import CloudEvent, EventData, InvalidEvent
from leadloop_messaging.deadletter import (
    REFERENCE_TYPE,
    Headers,
    dlq_headers,
    outbox_key,
    reference,
    reference_id,
)
from leadloop_messaging.headers import TYPE_HEADER
from leadloop_platform import metrics
from leadloop_platform.logs import correlation_id

log = logging.getLogger(__name__)

U = TypeVar("U", bound=UnitOfWork)
# SQLSTATEs of a server that is unreachable or refusing connections: class 08, and
# admin_shutdown, crash_shutdown, cannot_connect_now ("shutting down", "starting up").
AWAY_SQLSTATES = ("08", "57P01", "57P02", "57P03")
Handler = Callable[[U, CloudEvent, EventData], Awaitable[None]]


def database_away(exc: DBAPIError) -> bool:
    """True when Postgres is lost, restarting or refusing connections: not the record's fault."""
    if exc.connection_invalidated or isinstance(exc.orig, OSError):
        return True
    sqlstate = getattr(exc.orig, "sqlstate", None)
    return isinstance(sqlstate, str) and sqlstate.startswith(AWAY_SQLSTATES)


class ConsumerLoop(Generic[U]):
    """Feeds one consumer group's records to the handler registry of a service."""

    def __init__(
        self,
        *,
        service: str,
        consumer_name: str,
        consumer: AIOKafkaConsumer,
        dlq_producer: AIOKafkaProducer,
        uow_factory: Callable[[], U],
        processed: sa.Table,
        handlers: Mapping[str, Handler[U]],
        max_retries: int = 3,
        retry_backoff_s: float = 0.2,
        batch_size: int = 200,
    ) -> None:
        self.service = service
        self.name = consumer_name
        self.consumer = consumer
        self.dlq_producer = dlq_producer
        self.uow_factory = uow_factory
        self.processed = processed
        self.handlers = dict(handlers)
        self.max_retries = max_retries
        self.retry_backoff_s = retry_backoff_s
        self.batch_size = batch_size
        self._stopping = asyncio.Event()

    def stop(self) -> None:
        """Drain: finish and commit the batch in hand, then return from `run`."""
        self._stopping.set()

    async def run(self) -> None:
        """Fetch, handle per partition in order, commit; until stopped."""
        while not self._stopping.is_set():
            batches = await self.consumer.getmany(timeout_ms=200, max_records=self.batch_size)
            if batches:
                await asyncio.gather(*(self._partition(tp, recs) for tp, recs in batches.items()))
            await self._record_lag()

    async def _partition(
        self, tp: TopicPartition, records: list[ConsumerRecord[bytes, bytes]]
    ) -> None:
        for record in records:
            await self.handle_record(record)
        try:
            await self.consumer.commit({tp: records[-1].offset + 1})
        except (CommitFailedError, KafkaError) as exc:
            # The partition moved to another member; it re-reads and dedupes these records.
            log.warning("commit on %s failed: %r", tp, exc)

    async def handle_record(self, record: ConsumerRecord[bytes, bytes]) -> None:
        """Handle one record exactly once in effect, or dead-letter it."""
        topic = record.topic
        try:
            event = CloudEvent.from_bytes(record.value or b"")
            # A type is trusted only on its own topic and from its own producer (a forged
            # deal.closed on leads.intake, a stage_changed from anyone but scoring: refused).
            check_origin(event, record.topic)
            data = parse_data(event)
        except InvalidEvent as exc:
            await self.dead_letter(record, exc, attempts=1, event_type="invalid")
            return
        token = correlation_id.set(event.correlationid)
        try:
            handler = self.handlers.get(event.type)
            if handler is None:
                metrics.EVENTS_CONSUMED.labels(self.service, topic, event.type, "ignored").inc()
                return
            await self._with_retries(record, event, data, handler)
        finally:
            correlation_id.reset(token)

    async def _with_retries(
        self,
        record: ConsumerRecord[bytes, bytes],
        event: CloudEvent,
        data: EventData,
        handler: Handler[U],
    ) -> None:
        attempt = 0
        while True:
            attempt += 1
            started = time.perf_counter()
            try:
                outcome = await self._handle_once(record, event, data, handler)
            except DBAPIError as exc:
                if database_away(exc):
                    # Postgres is away: not the record's fault. Wait; never dead-letter.
                    log.warning("database unavailable, retrying %s: %r", event.id, exc)
                    await asyncio.sleep(self.retry_backoff_s * 5)
                    attempt -= 1
                    continue
                error: Exception = exc
            except (OSError, ConnectionError) as exc:
                log.warning("database unavailable, retrying %s: %r", event.id, exc)
                await asyncio.sleep(self.retry_backoff_s * 5)
                attempt -= 1
                continue
            except Exception as exc:  # noqa: BLE001 - a failing handler is retried, then dead-lettered
                error = exc
            else:
                metrics.HANDLER_LATENCY.labels(self.service, record.topic, event.type).observe(
                    time.perf_counter() - started
                )
                metrics.EVENTS_CONSUMED.labels(
                    self.service, record.topic, event.type, outcome
                ).inc()
                return
            log.warning(
                "handler for %s failed (attempt %d of %d): %r",
                event.type,
                attempt,
                self.max_retries + 1,
                error,
                extra={"event_id": event.id, "topic": record.topic},
            )
            metrics.EVENTS_CONSUMED.labels(self.service, record.topic, event.type, "retried").inc()
            if attempt > self.max_retries:
                await self.dead_letter(record, error, attempts=attempt, event_type=event.type)
                return
            await asyncio.sleep(self.retry_backoff_s * 2 ** (attempt - 1))

    async def _handle_once(
        self,
        record: ConsumerRecord[bytes, bytes],
        event: CloudEvent,
        data: EventData,
        handler: Handler[U],
    ) -> str:
        async with self.uow_factory() as uow:
            claimed = await uow.conn.execute(
                insert(self.processed)
                .values(
                    consumer=self.name,
                    event_id=event.id,
                    topic=record.topic,
                    partition=record.partition,
                    offset=record.offset,
                )
                .on_conflict_do_nothing()
                .returning(self.processed.c.event_id)
            )
            if claimed.first() is None:
                return "duplicate"
            await handler(uow, event, data)
            await uow.commit()
        return "ok"

    async def dead_letter(
        self,
        record: ConsumerRecord[bytes, bytes],
        error: Exception,
        *,
        attempts: int,
        event_type: str,
    ) -> None:
        """Send the record to `<topic>.dlq` with the error and where it came from; when it
        cannot go whole, a reference to it; when that cannot be sent, park the reference."""
        headers = dlq_headers(record, error, consumer=self.name, attempts=attempts)
        try:
            await self.dlq_producer.send_and_wait(
                topics.dlq(record.topic),
                value=record.value,
                key=record.key,
                headers=list(record.headers or ()) + headers,
            )
        except KafkaError as whole_failed:
            # Too large once the headers are added, or refused: the stream must go on anyway.
            await self._dead_letter_reference(record, error, whole_failed, headers, attempts)
        metrics.DLQ_RECORDS.labels(self.service, record.topic).inc()
        metrics.EVENTS_CONSUMED.labels(
            self.service, record.topic, event_type, "dead_lettered"
        ).inc()
        log.error(
            "record %s/%d@%d dead-lettered after %d attempt(s): %s",
            record.topic,
            record.partition,
            record.offset,
            attempts,
            error,
        )

    async def _dead_letter_reference(
        self,
        record: ConsumerRecord[bytes, bytes],
        error: Exception,
        whole_failed: KafkaError,
        headers: Headers,
        attempts: int,
    ) -> None:
        """Send a reference to the record to `<topic>.dlq`; park it when that fails too."""
        ref = reference(record, error, whole_failed, consumer=self.name, attempts=attempts)
        try:
            await self.dlq_producer.send_and_wait(
                topics.dlq(record.topic),
                value=ref,
                key=record.key,
                headers=[
                    *headers,
                    ("dlq.reference", b"true"),
                    (TYPE_HEADER, REFERENCE_TYPE.encode()),
                    ("content-type", b"application/json"),
                ],
            )
            how = "reference"
        except KafkaError as ref_failed:
            log.error("dead-letter reference not sent (%r); parking it", ref_failed)
            await self._park_reference(record, ref)
            how = "parked"
        metrics.DLQ_FALLBACKS.labels(self.service, record.topic, how).inc()
        log.error(
            "record %s/%d@%d (%d bytes) could not be dead-lettered whole (%r); "
            "its reference was %s",
            record.topic,
            record.partition,
            record.offset,
            len(record.value or b""),
            whole_failed,
            "sent" if how == "reference" else "parked in the outbox",
        )

    async def _park_reference(self, record: ConsumerRecord[bytes, bytes], ref: bytes) -> None:
        """Write the reference as an outbox row targeting `<topic>.dlq`: the relay sends it."""
        while True:
            try:
                async with self.uow_factory() as uow:
                    await uow.conn.execute(
                        insert(uow.outbox)
                        .values(
                            event_id=reference_id(record, self.name),
                            topic=topics.dlq(record.topic),
                            key=outbox_key(record),
                            event_type=REFERENCE_TYPE,
                            payload=ref,
                        )
                        .on_conflict_do_nothing()
                    )
                    await uow.commit()
                return
            except DBAPIError as exc:
                if not database_away(exc):
                    raise
                log.warning("database unavailable, retrying the parked reference: %r", exc)
                await asyncio.sleep(self.retry_backoff_s * 5)

    async def _record_lag(self) -> None:
        for tp in self.consumer.assignment():
            highwater = self.consumer.highwater(tp)
            if highwater is None:
                continue
            position = await self.consumer.position(tp)
            metrics.CONSUMER_LAG.labels(self.service, tp.topic, str(tp.partition)).set(
                max(highwater - position, 0)
            )
