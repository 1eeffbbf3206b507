"""The relay and a transaction that commits late: outbox ids are handed out at insert, not at
commit, so a lower id can become visible after a higher one was published (issue #17, item 3).
A relay that remembered a high-water mark would skip it for ever."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from leadloop_db.uow import UnitOfWork
from leadloop_events import topics
from leadloop_intake.adapters.tables import outbox
from leadloop_messaging.relay import OutboxRelay
from leadloop_platform.settings import CommonSettings

from .support import erased, read_all

pytestmark = pytest.mark.both_brokers


async def unsent(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        count: int = await conn.scalar(
            sa.select(sa.func.count()).select_from(outbox).where(outbox.c.sent_at.is_(None))
        )
        return count


async def relay_until_drained(relay: OutboxRelay) -> None:
    """Publish batches until the relay finds nothing to send."""
    while await relay.publish_batch():
        pass


async def test_a_lower_id_committing_after_a_higher_one_was_relayed_is_still_published(
    engine: AsyncEngine, settings: CommonSettings, producer: object
) -> None:
    """The lower id is published, once, and each lead keeps its order."""
    prefix = settings.topic_prefix
    relay = OutboxRelay(
        service="test",
        engine=engine,
        database_url=settings.database_url,
        outbox=outbox,
        producer=producer,  # type: ignore[arg-type]
    )
    late_event = erased("lead-GLOBEX", 0)
    async with engine.connect() as late:
        # GLOBEX's first event takes its id now; its transaction commits only later.
        await late.begin()
        late_id = await late.scalar(
            outbox.insert()
            .values(
                event_id=late_event.id,
                topic=prefix + topics.INTAKE,
                key="lead-GLOBEX",
                event_type=late_event.type,
                payload=late_event.to_bytes(),
            )
            .returning(outbox.c.id)
        )
        early = await write_one(engine, prefix, "lead-ACME-DENTAL", 0)
        await relay_until_drained(relay)
        async with engine.connect() as conn:
            early_id = await conn.scalar(sa.select(outbox.c.id).where(outbox.c.event_id == early))
        assert late_id < early_id, "the late row must hold the lower id"
        await late.commit()
    later = [
        await write_one(engine, prefix, "lead-GLOBEX", 1),
        await write_one(engine, prefix, "lead-ACME-DENTAL", 1),
    ]
    await relay_until_drained(relay)
    assert await unsent(engine) == 0

    ids = [late_event.id, early, *later]
    records = await read_all(
        settings.kafka_bootstrap_servers, settings.topic(topics.INTAKE), expect=len(ids)
    )
    assert sorted(json.loads(r.value)["id"] for r in records) == sorted(ids), "a row was skipped"
    by_lead: dict[str, list[tuple[int, int]]] = {}
    for r in records:
        body = json.loads(r.value)
        by_lead.setdefault(body["subject"], []).append((r.offset, int(body["data"]["reason"])))
    assert {lead: [n for _, n in sorted(seen)] for lead, seen in by_lead.items()} == {
        "lead-GLOBEX": [0, 1],
        "lead-ACME-DENTAL": [0, 1],
    }


async def write_one(engine: AsyncEngine, prefix: str, lead: str, n: int) -> str:
    """One event for `lead` in its own committed unit of work; returns its id."""
    async with UnitOfWork(engine, outbox, prefix) as uow:
        event = erased(lead, n)
        uow.publish(topics.INTAKE, event)
        await uow.commit()
        return event.id
