"""In-memory stand-ins for the consumer loop's adapters: a store with transactions, its ledger of
processed event ids, a dead-letter producer; and records as the broker hands them over."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import TracebackType
from typing import Self

import sqlalchemy as sa
from aiokafka import ConsumerRecord

from leadloop_db.tables import processed_events_table
from leadloop_db.uow import UnitOfWork
from leadloop_events import topics
from leadloop_events.envelope import CloudEvent, EventData, InvalidEvent, new_event
from leadloop_events.intake import LeadErased
from leadloop_messaging.consumer import ConsumerLoop, Handler

TOPIC = topics.INTAKE
ERASED = LeadErased.event_type


@dataclass
class Store:
    """What the fake database committed, and a log of commits and dead letters in order."""

    effects: list[str] = field(default_factory=list)
    processed: set[str] = field(default_factory=set)
    log: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)
    claims: int = 0
    # The next `away` commits fail as a lost connection does.
    away: int = 0
    # Events whose effect the commit refuses (a constraint checked at commit, say).
    refused_at_commit: set[str] = field(default_factory=set)

    @property
    def commits(self) -> list[tuple[str, ...]]:
        """The effects of each committed transaction, in order."""
        return [ids for what, ids in self.log if what == "commit"]

    @property
    def dead_letters(self) -> list[str]:
        """The event ids (or "invalid") sent to the dead-letter topic, in order."""
        return [ids[0] for what, ids in self.log if what == "dlq"]


class MemoryUnitOfWork(UnitOfWork):
    """One transaction over the store: effects and claims are kept only if it commits."""

    # No super().__init__: it wants an engine, and nothing here touches a database.
    def __init__(self, store: Store) -> None:
        self.store = store

    async def __aenter__(self) -> Self:
        self.effects: list[str] = []
        self.claimed: set[str] = set()
        self.events = []
        self._earlier = []
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.effects, self.claimed = [], set()  # what was not committed is rolled back

    async def commit(self) -> None:
        if self.store.away:
            self.store.away -= 1
            raise ConnectionResetError("the database connection was lost")
        refused = self.store.refused_at_commit.intersection(self.effects)
        if refused:
            raise ValueError(f"refused at commit: {sorted(refused)}")
        self.store.effects.extend(self.effects)
        self.store.processed |= self.claimed
        self.store.log.append(("commit", tuple(self.effects)))


class MemoryLedger:
    """The processed-events ledger in the store; counts its (set-based) claims."""

    def __init__(self, store: Store) -> None:
        self.store = store

    async def claim(
        self, uow: MemoryUnitOfWork, records: list[ConsumerRecord[bytes, bytes]], ids: list[str]
    ) -> set[str]:
        self.store.claims += 1
        fresh = {i for i in ids if i not in self.store.processed}
        uow.claimed |= fresh
        return fresh


class DeadLetterProducer:
    """Takes what the loop dead-letters and logs it in the store."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.sent: list[dict[str, bytes]] = []

    async def send_and_wait(
        self, topic: str, *, value: bytes, key: bytes, headers: list[tuple[str, bytes]]
    ) -> None:
        try:
            event_id = CloudEvent.from_bytes(value).id
        except InvalidEvent:
            event_id = "invalid"
        self.sent.append(dict(headers))
        self.store.log.append(("dlq", (event_id,)))


async def record_effect(uow: MemoryUnitOfWork, event: CloudEvent, data: EventData) -> None:
    """The effect of handling an event: its id, in the transaction."""
    uow.effects.append(event.id)


def erased(lead: str) -> CloudEvent:
    return new_event(
        LeadErased(lead_id=lead, erased_at=datetime.now(UTC), reason="asked"), subject=lead
    )


def records_of(values: list[bytes], *, partition: int = 0) -> list[ConsumerRecord[bytes, bytes]]:
    """One partition's records holding `values`, from offset 0."""
    return [
        ConsumerRecord(
            topic=TOPIC,
            partition=partition,
            offset=offset,
            timestamp=0,
            timestamp_type=0,
            key=b"lead",
            value=value,
            checksum=None,
            serialized_key_size=4,
            serialized_value_size=len(value),
            headers=[],
        )
        for offset, value in enumerate(values)
    ]


def memory_loop(
    store: Store, handler: Handler[MemoryUnitOfWork] = record_effect, **kwargs: object
) -> ConsumerLoop[MemoryUnitOfWork]:
    """A consumer loop over the store, with a service name of its own (for its metrics)."""
    return ConsumerLoop(
        service=f"unit-{uuid.uuid4().hex[:8]}",
        consumer_name="unit-consumer",
        consumer=kwargs.pop("consumer", None),  # type: ignore[arg-type]
        dlq_producer=DeadLetterProducer(store),  # type: ignore[arg-type]
        uow_factory=lambda: MemoryUnitOfWork(store),
        processed=processed_events_table(sa.MetaData()),
        handlers={ERASED: handler},
        retry_backoff_s=0.0,
        ledger=MemoryLedger(store),  # type: ignore[arg-type]
        **kwargs,  # type: ignore[arg-type]
    )
