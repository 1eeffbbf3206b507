"""The consumer loop: a poll's records in one transaction (dedupe by constraint, set-based),
offsets committed only after it; a failing batch is split so that only its poison record is
retried with backoff, then dead-lettered, and the stream moves on."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Generic, TypeVar

import sqlalchemy as sa
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.errors import CommitFailedError, KafkaError
from sqlalchemy.exc import DBAPIError

from leadloop_db.uow import UnitOfWork
from leadloop_events.catalog import EVENT_TYPES, check_origin, parse_data
from leadloop_events.envelope import CloudEvent, InvalidEvent
from leadloop_messaging.batch import (
    Applied,
    Handler,
    HandlerFailed,
    Item,
    Ledger,
    SqlLedger,
    apply_batch,
    database_away,
    lost_race,
)
from leadloop_messaging.dlq import DeadLetters
from leadloop_messaging.headers import TYPE_HEADER, declared_type
from leadloop_platform import metrics
from leadloop_platform.logs import correlation_id

log = logging.getLogger(__name__)

U = TypeVar("U", bound=UnitOfWork)
__all__ = ["ConsumerLoop", "Handler", "database_away"]


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
        ledger: Ledger[U] | None = None,
    ) -> None:
        self.service = service
        self.name = consumer_name
        self.consumer = consumer
        self.dlq_producer = dlq_producer
        self.dead_letters = DeadLetters(
            service=service,
            consumer_name=consumer_name,
            producer=dlq_producer,
            uow_factory=uow_factory,
            retry_backoff_s=retry_backoff_s,
        )
        self.uow_factory = uow_factory
        self.processed = processed
        # The processed-events table by default; a unit test's in-memory ledger otherwise.
        self.ledger: Ledger[U] = ledger or SqlLedger(processed, consumer_name)
        self.handlers = dict(handlers)
        self.max_retries = max_retries
        self.retry_backoff_s = retry_backoff_s
        self.batch_size = batch_size
        self._stopping = asyncio.Event()

    def stop(self) -> None:
        """Drain: finish and commit the batch in hand, then return from `run`."""
        self._stopping.set()

    async def run(self) -> None:
        """Fetch, handle the poll in one transaction, commit its offsets; until stopped."""
        while not self._stopping.is_set():
            batches = await self.consumer.getmany(timeout_ms=200, max_records=self.batch_size)
            if batches:
                await self._poll(batches)
            await self._record_lag()

    async def _poll(
        self, batches: dict[TopicPartition, list[ConsumerRecord[bytes, bytes]]]
    ) -> None:
        """Every partition's records of the poll, each partition in offset order, handled in one
        transaction (a transaction per partition made a poll over four topics of six
        partitions up to 24 small transactions, each with its claim, locks and commit); then
        each partition's offset."""
        await self.handle_batch([record for records in batches.values() for record in records])
        try:
            await self.consumer.commit(
                {tp: records[-1].offset + 1 for tp, records in batches.items()}
            )
        except (CommitFailedError, KafkaError) as exc:
            # A partition moved to another member; it re-reads and dedupes these records.
            log.warning("commit of %d partitions' offsets failed: %r", len(batches), exc)

    async def handle_record(self, record: ConsumerRecord[bytes, bytes]) -> None:
        """Handle one record exactly once in effect, or dead-letter it: a batch of one."""
        await self.handle_batch([record])

    async def handle_batch(self, records: Sequence[ConsumerRecord[bytes, bytes]]) -> None:
        """Handle one partition's records, in offset order, each once in effect or dead-lettered:
        the valid ones in one transaction; an invalid one dead-lettered in its place (the
        records before it are committed first)."""
        run: list[Item[U]] = []
        for record in records:
            decoded = self._decode(record)
            if isinstance(decoded, InvalidEvent):
                await self._apply(run)
                run = []
                await self.dead_letters.send(record, decoded, attempts=1, event_type="invalid")
            elif decoded is not None:
                run.append(decoded)
        await self._apply(run)

    def _decode(self, record: ConsumerRecord[bytes, bytes]) -> Item[U] | InvalidEvent | None:
        """The record as an item to handle; its error when invalid; None when no handler
        takes its type (counted "ignored" now: it touches nothing)."""
        declared = declared_type(record)
        if declared is not None and self._foreign(declared, record.topic):
            # Skipped on its header alone, its value never parsed: a record whose header lies
            # is at worst skipped, which applies nothing; what is applied is always parsed.
            metrics.EVENTS_CONSUMED.labels(self.service, record.topic, declared, "ignored").inc()
            return None
        try:
            event = CloudEvent.from_bytes(record.value or b"")
            if declared is not None and declared != event.type:
                raise InvalidEvent(
                    f"the {TYPE_HEADER} header says {declared!r} but the event is "
                    f"{event.type!r}: refused as forged"
                )
            # A type is trusted only on its own topic and from its own producer (a forged
            # deal.closed on leads.intake, a stage_changed from anyone but scoring: refused).
            check_origin(event, record.topic)
            data = parse_data(event)
        except InvalidEvent as exc:
            return exc
        handler = self.handlers.get(event.type)
        if handler is None:
            metrics.EVENTS_CONSUMED.labels(self.service, record.topic, event.type, "ignored").inc()
            return None
        return Item(record, event, data, handler)

    def _foreign(self, event_type: str, topic: str) -> bool:
        """A catalogued type of `topic` that no handler here takes: skippable unparsed. A type
        unknown to the catalog, or one that belongs on another topic, is parsed as before (and
        dead-lettered as invalid or forged)."""
        if event_type in self.handlers:
            return False
        model = EVENT_TYPES.get(event_type)
        return model is not None and topic.endswith(model.topic)

    async def _apply(self, items: Sequence[Item[U]]) -> None:
        """Apply `items` in one transaction; when it fails, find the poison record: the one
        whose handler raised (else, a failed commit, by halves) goes alone through its retries
        and the dead-letter topic, and the records around it are applied without it.

        The other partitions' records after the suspect are applied before its retries: one may
        be what it waits for (an agreement published on another partition than the lead's
        event), as when each partition had a transaction of its own. Its own partition's wait
        for it, in offset order."""
        if not items:
            return
        failure = await self._attempt(items)
        if failure is None:
            return
        index, error = failure
        if len(items) == 1:
            await self._retry_alone(items[0], error)
        elif index is not None:
            suspect = items[index]
            rest = items[index + 1 :]
            await self._apply(items[:index])
            await self._apply([item for item in rest if not _same_partition(item, suspect)])
            await self._retry_alone(suspect, error)
            await self._apply([item for item in rest if _same_partition(item, suspect)])
        else:
            middle = len(items) // 2
            await self._apply(items[:middle])
            await self._apply(items[middle:])

    async def _attempt(self, items: Sequence[Item[U]]) -> tuple[int | None, Exception] | None:
        """One transaction over `items`, repeated while the database is away or the transaction
        loses a race (neither counts against a record); None once committed, else which item's
        handler failed (None: the claim or the commit) and the error."""
        while True:
            try:
                applied = await apply_batch(self.uow_factory, self.ledger, items)
            except Exception as exc:  # noqa: BLE001 - classified here: wait, retry or split
                index, error = (
                    (exc.index, exc.error) if isinstance(exc, HandlerFailed) else (None, exc)
                )
                if self._away(error):
                    # Postgres is away: not a record's fault. Wait; never dead-letter.
                    log.warning("database unavailable, retrying %s: %r", _which(items), error)
                    await asyncio.sleep(self.retry_backoff_s * 5)
                elif lost_race(error):
                    # A deadlock or serialization failure: the same transaction again.
                    log.warning("transaction lost a race, retrying %s: %r", _which(items), error)
                    await asyncio.sleep(self.retry_backoff_s)
                else:
                    return index, error
                continue
            self._count(items, applied)
            return None

    @staticmethod
    def _away(error: Exception) -> bool:
        """Postgres is lost, restarting or refusing: wait for it; never dead-letter."""
        if isinstance(error, DBAPIError):
            return database_away(error)
        return isinstance(error, OSError | ConnectionError)

    def _count(self, items: Sequence[Item[U]], applied: Applied) -> None:
        """The committed batch's metrics, per record: its outcome and its handling time."""
        for item, outcome, seconds in zip(items, applied.outcomes, applied.seconds, strict=True):
            topic, kind = item.record.topic, item.event.type
            metrics.HANDLER_LATENCY.labels(self.service, topic, kind).observe(seconds)
            metrics.EVENTS_CONSUMED.labels(self.service, topic, kind, outcome).inc()

    async def _retry_alone(self, item: Item[U], error: Exception) -> None:
        """The poison suspect alone, its failed attempt counted: retried with backoff in its own
        transaction, then dead-lettered."""
        record, event = item.record, item.event
        token = correlation_id.set(event.correlationid)
        try:
            attempt = 1
            while True:
                log.warning(
                    "handler for %s failed (attempt %d of %d): %r",
                    event.type,
                    attempt,
                    self.max_retries + 1,
                    error,
                    extra={"event_id": event.id, "topic": record.topic},
                )
                metrics.EVENTS_CONSUMED.labels(
                    self.service, record.topic, event.type, "retried"
                ).inc()
                if attempt > self.max_retries:
                    await self.dead_letters.send(
                        record, error, attempts=attempt, event_type=event.type
                    )
                    return
                await asyncio.sleep(self.retry_backoff_s * 2 ** (attempt - 1))
                attempt += 1
                failure = await self._attempt([item])
                if failure is None:
                    return
                error = failure[1]
        finally:
            correlation_id.reset(token)

    async def _record_lag(self) -> None:
        for tp in self.consumer.assignment():
            highwater = self.consumer.highwater(tp)
            if highwater is None:
                continue
            position = await self.consumer.position(tp)
            metrics.CONSUMER_LAG.labels(self.service, tp.topic, str(tp.partition)).set(
                max(highwater - position, 0)
            )


def _which(items: Sequence[Item[U]]) -> str:
    """The event of a batch of one, else where a batch starts and how many it holds."""
    if len(items) == 1:
        return items[0].event.id
    first = items[0].record
    return f"a batch of {len(items)} from {first.topic}/{first.partition}@{first.offset}"


def _same_partition(item: Item[Any], other: Item[Any]) -> bool:
    """Whether two records come from the same partition (whose order must hold)."""
    a, b = item.record, other.record
    return (a.topic, a.partition) == (b.topic, b.partition)
