"""The outbox relay on a real Postgres and a real Kafka-protocol broker."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from leadloop_db.uow import UnitOfWork
from leadloop_events import topics
from leadloop_intake.adapters.tables import outbox
from leadloop_messaging.relay import OutboxRelay
from leadloop_platform.settings import CommonSettings

from ...waiting import wait_for
from .support import erased, read_all

pytestmark = pytest.mark.both_brokers

LEADS = [f"lead-{name}" for name in ("ACME-DENTAL", "GLOBEX", "INITECH", "UMBRELLA", "HOOLI")]


async def write_events(engine: AsyncEngine, prefix: str, per_lead: int) -> list[str]:
    """Interleave `per_lead` events for each lead, one transaction per event; returns ids."""
    ids = []
    for n in range(per_lead):
        for lead in LEADS:
            async with UnitOfWork(engine, outbox, prefix) as uow:
                event = erased(lead, n)
                uow.publish(topics.INTAKE, event)
                await uow.commit()
                ids.append(event.id)
    return ids


async def unsent(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        count: int = await conn.scalar(
            sa.select(sa.func.count()).select_from(outbox).where(outbox.c.sent_at.is_(None))
        )
        return count


async def test_relay_publishes_in_order_per_lead_and_marks_rows_sent(
    engine: AsyncEngine, settings: CommonSettings, producer: object
) -> None:
    ids = await write_events(engine, settings.topic_prefix, per_lead=20)
    relay = OutboxRelay(
        service="test",
        engine=engine,
        database_url=settings.database_url,
        outbox=outbox,
        producer=producer,
        batch_size=37,  # type: ignore[arg-type]
    )
    while await relay.publish_batch():
        pass
    assert await unsent(engine) == 0

    records = await read_all(
        settings.kafka_bootstrap_servers, settings.topic(topics.INTAKE), expect=len(ids)
    )
    assert sorted(json.loads(r.value)["id"] for r in records) == sorted(ids)
    by_lead: dict[str, list[tuple[int, int]]] = {}
    for r in records:
        body = json.loads(r.value)
        by_lead.setdefault(body["subject"], []).append((r.offset, int(body["data"]["reason"])))
    for lead, seen in by_lead.items():
        seen.sort()
        assert [n for _, n in seen] == list(range(20)), f"{lead} out of order"
    assert all(r.key == json.loads(r.value)["subject"].encode() for r in records)


async def test_one_commit_writes_its_events_in_the_order_they_were_published(
    engine: AsyncEngine, settings: CommonSettings
) -> None:
    # The commit writes a batch's rows in one unnested statement: the ids must follow the
    # order of publication, as the relay publishes by id (per-lead order on the topic).
    async with UnitOfWork(engine, outbox, settings.topic_prefix) as uow:
        published = [erased(LEADS[n % len(LEADS)], n) for n in range(300)]
        for event in reversed(published[150:]):
            uow.publish(topics.INTAKE, event)
        uow.next_step()
        uow.publish_all([(topics.INTAKE, e) for e in published[:150]])
        await uow.commit()
    expected = [e.id for e in reversed(published[150:])] + [e.id for e in published[:150]]
    async with engine.connect() as conn:
        written = (await conn.scalars(sa.select(outbox.c.event_id).order_by(outbox.c.id))).all()
    assert list(written) == expected


async def test_relay_killed_between_publish_and_mark_loses_nothing(
    engine: AsyncEngine,
    settings: CommonSettings,
    settings_env: dict[str, str],
    producer: object,
    tmp_path: Path,
) -> None:
    ids = await write_events(engine, settings.topic_prefix, per_lead=4)
    env = {**os.environ, **settings_env}
    script = Path(__file__).with_name("relay_crash.py")
    child = await asyncio.create_subprocess_exec(sys.executable, str(script), env=env)
    returncode = await asyncio.wait_for(child.wait(), 60)
    # The child published a batch, then died before marking it: the rows are still unsent.
    assert returncode == 9
    assert await unsent(engine) == len(ids)

    relay = OutboxRelay(
        service="test",
        engine=engine,
        database_url=settings.database_url,
        outbox=outbox,
        producer=producer,  # type: ignore[arg-type]
    )
    while await relay.publish_batch():
        pass
    assert await unsent(engine) == 0
    records = await read_all(
        settings.kafka_bootstrap_servers, settings.topic(topics.INTAKE), expect=2 * len(ids)
    )
    seen = [json.loads(r.value)["id"] for r in records]
    # Every event arrived; the crashed batch arrived twice (consumers drop the copies).
    assert set(seen) == set(ids)
    assert len(seen) == 2 * len(ids)


async def test_relay_wakes_on_notify_and_runs_until_stopped(
    engine: AsyncEngine, settings: CommonSettings, producer: object
) -> None:
    relay = OutboxRelay(
        service="test",
        engine=engine,
        database_url=settings.database_url,
        outbox=outbox,
        producer=producer,
        poll_interval_s=30.0,  # type: ignore[arg-type]
    )
    task = asyncio.create_task(relay.run())
    try:
        ids = await write_events(engine, settings.topic_prefix, per_lead=1)

        async def drained() -> bool:
            return await unsent(engine) == 0

        # With a 30 s poll interval, only NOTIFY can drain the outbox this fast.
        await wait_for(drained, timeout_s=10, what="the relay to publish after NOTIFY")
        records = await read_all(
            settings.kafka_bootstrap_servers, settings.topic(topics.INTAKE), expect=len(ids)
        )
        assert {json.loads(r.value)["id"] for r in records} == set(ids)
    finally:
        relay.stop()
        await asyncio.wait_for(task, 10)
