"""Sending a record to its dead-letter topic: whole, as a reference, or parked in the outbox
(the fallbacks are described in `leadloop_messaging.deadletter`)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Generic, TypeVar

from aiokafka import AIOKafkaProducer, ConsumerRecord
from aiokafka.errors import KafkaError
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import DBAPIError

from leadloop_db.uow import UnitOfWork
from leadloop_events import topics
from leadloop_messaging.batch import database_away
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

log = logging.getLogger(__name__)

U = TypeVar("U", bound=UnitOfWork)


class DeadLetters(Generic[U]):
    """A consumer's dead-letter sender: `<topic>.dlq` on its producer, the outbox as last resort."""

    def __init__(
        self,
        *,
        service: str,
        consumer_name: str,
        producer: AIOKafkaProducer,
        uow_factory: Callable[[], U],
        retry_backoff_s: float,
    ) -> None:
        self.service = service
        self.name = consumer_name
        self.dlq_producer = producer
        self.uow_factory = uow_factory
        self.retry_backoff_s = retry_backoff_s

    async def send(
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
