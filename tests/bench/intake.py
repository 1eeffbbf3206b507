"""`make bench`: intake alone, on the embedded broker and Postgres (or the ones the environment
names). Measures form fills accepted per second at saturation and the latency from each POST to
its lead.captured event being readable on leads.intake. Prints a table and writes JSON.

    python -m tests.bench.intake [--leads 3000] [--concurrency 32] [--out bench-intake.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer, TopicPartition

from leadloop_cli.infra import EmbeddedBroker, EmbeddedPostgres, create_database, free_port
from leadloop_cli.services import migrate_all
from leadloop_events import topics
from leadloop_messaging.provisioning import ensure_topics, topic_plan

KEY = "llk_bench_bootstrap_key_with_every_scope_00"
POLL_S = 0.1


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def wait_ready(url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    async with httpx.AsyncClient() as client:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise SystemExit(f"intake exited:\n{log.read_text()[-3000:]}")  # noqa: ASYNC240 - failing anyway
            try:
                if (await client.get(url + "/readyz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(POLL_S)
    raise SystemExit("intake did not become ready")


async def consume(bootstrap: str, topic: str, expect: set[str], seen: dict[str, float]) -> None:
    """Record when each correlation id's event becomes readable.

    Partitions are assigned, not joined as a group: a first group join on this broker takes
    seconds (BROKER-NOTES.md) and would be measured as hand-off latency.
    """
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=None,
        fetch_max_wait_ms=10,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    try:
        await consumer.topics()
        partitions = consumer.partitions_for_topic(topic) or set()
        consumer.assign([TopicPartition(topic, p) for p in partitions])
        await consumer.seek_to_beginning()
        while not expect <= seen.keys():
            batch = await consumer.getmany(timeout_ms=100, max_records=5000)
            now = time.perf_counter()
            for records in batch.values():
                for record in records:
                    cid = json.loads(record.value or b"{}").get("correlationid")
                    if cid in expect:
                        seen.setdefault(cid, now)
    finally:
        await consumer.stop()


async def load(url: str, n: int, concurrency: int) -> dict[str, float]:
    """POST n form fills with `concurrency` in flight; returns correlation id -> send time."""
    sent: dict[str, float] = {}
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(n):
        queue.put_nowait(i)
    limits = httpx.Limits(max_connections=concurrency)
    async with httpx.AsyncClient(
        base_url=url, limits=limits, timeout=30, headers={"authorization": f"Bearer {KEY}"}
    ) as client:

        async def worker() -> None:
            while not queue.empty():
                i = queue.get_nowait()
                cid = f"bench-{i}"
                sent[cid] = time.perf_counter()
                r = await client.post(
                    "/v1/form-submissions",
                    headers={"x-correlation-id": cid},
                    json={
                        "email": f"buyer{i}@company{i % 500}.com",
                        "company": f"Company {i % 500}",
                        "company_size": 50 + i,
                        "country": "US",
                        "source": "paid_search",
                    },
                )
                if r.status_code != 202:
                    raise SystemExit(f"POST failed: {r.status_code} {r.text}")

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return sent


async def run(args: argparse.Namespace) -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix="leadloop-bench-"))
    broker = postgres = None
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if not bootstrap:
        broker = EmbeddedBroker(log_path=workdir / "tansu.log").start()
        bootstrap = broker.bootstrap_servers
    server_url = os.environ.get("DATABASE_URL")
    if not server_url:
        postgres = EmbeddedPostgres(workdir / "pgdata").start()
        server_url = postgres.url()
    db_url = await create_database(server_url, f"bench_{uuid.uuid4().hex[:8]}")
    prefix = f"bench{uuid.uuid4().hex[:6]}."
    await ensure_topics(bootstrap, topic_plan(prefix))
    await migrate_all(db_url, env={})
    port = free_port()
    log = workdir / "intake.log"
    env = {
        **os.environ,
        "DATABASE_URL": db_url,
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "LEADLOOP_TOPIC_PREFIX": prefix,
        "LEADLOOP_BOOTSTRAP_API_KEY": KEY,
        "LEADLOOP_LOG_LEVEL": "WARNING",
    }
    proc = subprocess.Popen(  # noqa: ASYNC220 - a child that outlives this call
        [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            "leadloop_intake.bootstrap:create_app",
            "--port",
            str(port),
            "--no-access-log",
            "--log-level",
            "warning",
        ],
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        await wait_ready(url, proc, log)
        await load(url, 50, 4)  # warm-up
        seen: dict[str, float] = {}
        expect = {f"bench-{i}" for i in range(args.leads)}
        consumer = asyncio.create_task(consume(bootstrap, prefix + topics.INTAKE, expect, seen))
        started = time.perf_counter()
        sent = await load(url, args.leads, args.concurrency)
        accepted_s = time.perf_counter() - started
        await asyncio.wait_for(consumer, 120)
        latencies = [seen[c] - sent[c] for c in expect]
    finally:
        proc.terminate()
        proc.wait(20)
        if broker:
            broker.stop()
        if postgres:
            postgres.stop()
            shutil.rmtree(workdir / "pgdata", ignore_errors=True)  # the logs stay
    return {
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "broker": "embedded tansu" if broker else bootstrap,
        "leads": args.leads,
        "concurrency": args.concurrency,
        "accepted_per_s": round(args.leads / accepted_s, 1),
        "post_to_event_ms": {
            "p50": round(pct(latencies, 0.50) * 1000, 1),
            "p99": round(pct(latencies, 0.99) * 1000, 1),
            "mean": round(statistics.fmean(latencies) * 1000, 1),
            "max": round(max(latencies) * 1000, 1),
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--leads", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--out", type=Path, default=Path("bench-intake.json"))
    args = parser.parse_args()
    result = asyncio.run(run(args))
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    lat = result["post_to_event_ms"]
    print(f"{'metric':<38}{'value':>12}")
    print(f"{'form fills accepted per second':<38}{result['accepted_per_s']:>12}")
    for key in ("p50", "p99", "mean", "max"):
        print(f"{'POST -> event on leads.intake ' + key + ' (ms)':<38}{lat[key]:>12}")
    print(f"\nJSON written to {args.out}")


if __name__ == "__main__":
    main()
