"""The machine's own limits, measured in the same run as the loop, on the same broker and
Postgres: (a) three Kafka hops by a bare aiokafka produce -> consume -> produce chain, each relay
its own process as scoring and routing are, no database; (b) small INSERT + COMMIT transactions
per second on a few connections.

A relay runs as `python -m tests.bench.baselines relay BOOTSTRAP SRC DST FETCH_WAIT_MS IDEMPOTENT`.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path
from typing import Any

import asyncpg
import psutil
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from leadloop_cli.supervisor import Child, spawn, stop_children
from leadloop_messaging.provisioning import ensure_topics

from .stats import summarize_ms

HOPS = 3  # leads.intake, leads.lifecycle, leads.handoff
PAYLOAD = b"x" * 1024  # about a lead.captured event's size
POLL_S = 0.05
RELAY = (sys.executable, "-m", "tests.bench.baselines", "relay")


def producer(bootstrap: str, idempotent: bool) -> AIOKafkaProducer:
    """The services' producer settings (leadloop_messaging.kafka), idempotent as theirs are on
    this broker (tests/bench/brokers.py detects it as they do)."""
    return AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        acks="all",
        enable_idempotence=idempotent,
        linger_ms=0,
        max_batch_size=256 * 1024,
    )


async def assigned_consumer(bootstrap: str, topic: str, fetch_wait_ms: int) -> AIOKafkaConsumer:
    """A consumer on every partition of `topic` from the beginning, without a group."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=None,
        enable_auto_commit=False,
        fetch_max_wait_ms=fetch_wait_ms,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    try:
        consumer.assign(await topic_partitions(consumer, topic))
    except BaseException:
        await consumer.stop()
        raise
    await consumer.seek_to_beginning()
    return consumer


async def topic_partitions(
    consumer: AIOKafkaConsumer, topic: str, timeout_s: float = 30.0
) -> list[TopicPartition]:
    """`topic`'s partitions, once the broker's metadata lists them: Apache Kafka answers
    CreateTopics before every broker's metadata cache has the topic."""
    deadline = time.monotonic() + timeout_s
    while True:
        # Fresh metadata: partitions_for_topic() answers from what the consumer saw at start.
        cluster = await consumer._client.fetch_all_metadata()
        partitions = cluster.partitions_for_topic(topic)
        if partitions:
            return [TopicPartition(topic, p) for p in sorted(partitions)]
        if time.monotonic() > deadline:
            raise RuntimeError(f"topic {topic} has no partitions after {timeout_s:.0f} s")
        await asyncio.sleep(POLL_S)


async def relay(bootstrap: str, src: str, dst: str, fetch_wait_ms: int, idempotent: bool) -> None:
    """Forward every record of `src` to `dst`, a fetched batch at a time (at least once)."""
    consumer = await assigned_consumer(bootstrap, src, fetch_wait_ms)
    out = producer(bootstrap, idempotent)
    await out.start()
    try:
        while True:
            batch = await consumer.getmany(timeout_ms=100, max_records=5000)
            sent = [
                await out.send(dst, record.value, key=record.key)
                for records in batch.values()
                for record in records
            ]
            await asyncio.gather(*sent)
    finally:
        await out.stop()
        await consumer.stop()


class Sink:
    """Reads the last topic of the chain; records when each message index arrives."""

    def __init__(self) -> None:
        self.arrived: dict[int, float] = {}

    async def run(self, consumer: AIOKafkaConsumer) -> None:
        while True:
            batch = await consumer.getmany(timeout_ms=100, max_records=10_000)
            now = time.perf_counter()
            for records in batch.values():
                for record in records:
                    self.arrived.setdefault(int(record.key or b"-1"), now)

    async def wait_for(self, indexes: range, timeout_s: float) -> None:
        """Until every index arrived; fails after `timeout_s`."""
        deadline = time.monotonic() + timeout_s
        while not all(i in self.arrived for i in indexes):
            if time.monotonic() > deadline:
                missing = sum(1 for i in indexes if i not in self.arrived)
                raise TimeoutError(f"{missing} chain messages did not arrive in {timeout_s} s")
            await asyncio.sleep(POLL_S)


async def kafka_chain(
    bootstrap: str,
    prefix: str,
    *,
    partitions: int,
    fetch_wait_ms: int,
    latency_rate: float,
    latency_s: float,
    throughput_messages: int,
    logs: Path,
    idempotent: bool,
) -> dict[str, Any]:
    """Per-message latency through HOPS topics at a steady rate, then throughput at saturation."""
    names = [f"{prefix}chain.{hop}" for hop in range(HOPS)]
    await ensure_topics(bootstrap, dict.fromkeys(names, partitions))
    relays: list[Child] = [
        spawn(
            f"relay-{hop}",
            [
                *RELAY,
                bootstrap,
                names[hop - 1],
                names[hop],
                str(fetch_wait_ms),
                str(int(idempotent)),
            ],
            os.environ,
            logs / f"relay-{hop}.log",
        )
        for hop in range(1, HOPS)
    ]
    sink = Sink()
    consumer = await assigned_consumer(bootstrap, names[-1], fetch_wait_ms)
    reader = asyncio.create_task(sink.run(consumer))
    out = producer(bootstrap, idempotent)
    await out.start()
    sent: dict[int, float] = {}
    next_index = 0

    async def send(count: int, interval_s: float) -> range:
        nonlocal next_index
        indexes = range(next_index, next_index + count)
        next_index += count
        started = time.perf_counter()
        pending = []
        for n, i in enumerate(indexes):
            if interval_s:  # pacing: the time this message is due
                await asyncio.sleep(max(0.0, started + n * interval_s - time.perf_counter()))
            sent[i] = time.perf_counter()
            pending.append(await out.send(names[0], PAYLOAD, key=str(i).encode()))
        await asyncio.gather(*pending)
        return indexes

    try:
        await sink.wait_for(await send(50, 0.01), timeout_s=60)  # relays up and reading
        steady = await send(max(1, int(latency_rate * latency_s)), 1.0 / latency_rate)
        await sink.wait_for(steady, timeout_s=60)
        cpu_before = [_cpu(r) for r in relays]
        burst_start = time.perf_counter()
        burst = await send(throughput_messages, 0.0)
        produced_s = time.perf_counter() - burst_start
        await sink.wait_for(burst, timeout_s=120)
        through_s = max(sink.arrived[i] for i in burst) - burst_start
        relay_cpu = [round(_cpu(r) - b, 2) for r, b in zip(relays, cpu_before, strict=True)]
    finally:
        reader.cancel()
        await asyncio.gather(reader, return_exceptions=True)
        await out.stop()
        await consumer.stop()
        stop_children(relays, timeout=5)
    return {
        "hops": HOPS,
        "partitions": partitions,
        "payload_bytes": len(PAYLOAD),
        "fetch_max_wait_ms": fetch_wait_ms,
        "idempotent_producer": idempotent,
        "latency_rate_per_s": latency_rate,
        "latency_ms": summarize_ms(sink.arrived[i] - sent[i] for i in steady),
        "throughput_messages": throughput_messages,
        "produced_per_s": round(throughput_messages / produced_s, 1),
        "messages_per_s": round(throughput_messages / through_s, 1),
        "relay_cpu_s": relay_cpu,
    }


def _cpu(child: Child) -> float:
    times = psutil.Process(child.proc.pid).cpu_times()
    return float(times.user + times.system)


async def postgres_commits(
    database_url: str, *, connections: int, seconds: float
) -> dict[str, Any]:
    """Small INSERT + COMMIT transactions per second, `connections` clients in parallel."""
    dsn = database_url  # asyncpg reads postgresql:// URLs, ?host=/socket/dir included
    setup = await asyncpg.connect(dsn)
    try:
        await setup.execute(
            "CREATE TABLE IF NOT EXISTS public.bench_commit "
            "(id bigserial PRIMARY KEY, lead_id text NOT NULL, at timestamptz DEFAULT now())"
        )
        settings = {
            name: await setup.fetchval(f"SHOW {name}")
            for name in ("fsync", "synchronous_commit", "wal_sync_method", "shared_buffers")
        }
    finally:
        await setup.close()
    durations: list[float] = []
    stop_at = time.perf_counter() + seconds

    async def client(n: int) -> int:
        conn = await asyncpg.connect(dsn)
        done = 0
        try:
            while time.perf_counter() < stop_at:
                began = time.perf_counter()
                async with conn.transaction():  # BEGIN, INSERT, COMMIT: as the services do
                    await conn.execute(
                        "INSERT INTO public.bench_commit (lead_id) VALUES ($1)", f"c{n}-{done}"
                    )
                durations.append(time.perf_counter() - began)
                done += 1
        finally:
            await conn.close()
        return done

    started = time.perf_counter()
    counts = await asyncio.gather(*(client(n) for n in range(connections)))
    elapsed = time.perf_counter() - started
    return {
        "connections": connections,
        "seconds": round(elapsed, 2),
        "commits_per_s": round(sum(counts) / elapsed, 1),
        "commit_ms": summarize_ms(durations),
        "settings": settings,
    }


if __name__ == "__main__":
    if len(sys.argv) != 7 or sys.argv[1] != "relay":
        raise SystemExit(
            "usage: python -m tests.bench.baselines relay BOOTSTRAP SRC DST WAIT_MS IDEMPOTENT"
        )
    _, _, bootstrap, src, dst, wait_ms, idempotent = sys.argv
    asyncio.run(relay(bootstrap, src, dst, int(wait_ms), idempotent == "1"))
