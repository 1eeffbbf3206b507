"""Run a relay that dies (exit 9, like kill -9) after the broker acked a batch, before marking."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Sequence

from leadloop_db.engine import make_engine
from leadloop_intake.adapters.tables import outbox
from leadloop_messaging.idempotence import producer_idempotence
from leadloop_messaging.kafka import make_producer
from leadloop_messaging.relay import OutboxRelay
from leadloop_platform.settings import CommonSettings


async def die(_acked: Sequence[int]) -> None:
    os._exit(9)


async def main() -> None:
    settings = CommonSettings()
    engine = make_engine(settings.database_url)
    producer = make_producer(settings, idempotent=await producer_idempotence(settings))
    await producer.start()
    relay = OutboxRelay(
        service="crash",
        engine=engine,
        database_url=settings.database_url,
        outbox=outbox,
        producer=producer,
        batch_size=1000,
        after_publish=die,
    )
    await relay.publish_batch()


asyncio.run(main())
