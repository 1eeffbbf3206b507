"""`make bench`: intake and scoring on the embedded broker and Postgres (or the ones the
environment names). Measures form fills accepted per second at saturation, scored per second
(until scoring holds every lead), intake's CPU per form fill beside the load generator's own,
and (with the Python clients) the latency from each POST to its lead.captured event being
readable on leads.intake. Prints a table and writes JSON.

The load comes from the compiled generator (tests/bench/loadgen-go, built on first use into
.tools/loadgen-go/) when `go` is installed, else from 32 Python clients, which eat a core.

    python -m tests.bench.intake [--leads 3000] [--concurrency 32] [--loadgen go|python]
                                 [--out bench-intake.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
from aiokafka import AIOKafkaConsumer, TopicPartition

from leadloop_db.engine import make_engine
from leadloop_events import topics

from . import loadgen_go
from .procs import Monitor, delta
from .stack import KEY, Stack, bench_stack, save

POLL_S = 0.1
WARM_UP = 50
COUNT_SCORED = sa.text("SELECT count(*) FROM scoring.leads")


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


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


async def load(url: str, n: int, concurrency: int, prefix: str = "bench") -> dict[str, float]:
    """POST n form fills with `concurrency` in flight; returns correlation id -> send time."""
    sent: dict[str, float] = {}
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(n):
        queue.put_nowait(i)
    limits = httpx.Limits(max_connections=concurrency, keepalive_expiry=2.0)  # < uvicorn's 5 s
    async with httpx.AsyncClient(
        base_url=url, limits=limits, timeout=30, headers={"authorization": f"Bearer {KEY}"}
    ) as client:

        async def worker() -> None:
            while not queue.empty():
                i = queue.get_nowait()
                cid = f"{prefix}-{i}"
                sent[cid] = time.perf_counter()
                r = await client.post(
                    "/v1/form-submissions",
                    headers={"x-correlation-id": cid},
                    json={
                        "email": f"{prefix}-buyer{i}@company{i % 500}.com",
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


async def scored(db_url: str, at_least: int, timeout_s: float) -> int:
    """Wait until scoring holds `at_least` leads (each form fill here is a new lead)."""
    engine = make_engine(db_url, pool_size=1, application_name="bench")
    deadline = time.monotonic() + timeout_s
    try:
        while True:
            async with engine.connect() as conn:
                count = int((await conn.execute(COUNT_SCORED)).scalar_one())
            if count >= at_least or time.monotonic() > deadline:
                return count
            await asyncio.sleep(POLL_S)
    finally:
        await engine.dispose()


async def measure(args: argparse.Namespace, stack: Stack) -> dict[str, Any]:
    """The load, then scoring catching up: rates, the generator's figures, POST -> event."""
    url, db_url = stack.urls["intake"], stack.db_url
    await load(url, WARM_UP, 4, prefix="warm")
    await scored(db_url, WARM_UP, 60)
    out: dict[str, Any] = {"loadgen": args.loadgen}
    started = time.perf_counter()
    if args.loadgen == "go":
        gen = await loadgen_go.run(
            args.exe, url, KEY, args.leads, args.concurrency, f"bench{uuid.uuid4().hex[:6]}"
        )
        accepted_s, accepted = time.perf_counter() - started, int(gen["accepted"])
        out["generator"] = gen
    else:
        seen: dict[str, float] = {}
        expect = {f"bench-{i}" for i in range(args.leads)}
        consumer = asyncio.create_task(
            consume(stack.bootstrap, stack.prefix + topics.INTAKE, expect, seen)
        )
        cpu = time.process_time()
        sent = await load(url, args.leads, args.concurrency)
        accepted_s, accepted = time.perf_counter() - started, args.leads
        # The clients share this process with the leads.intake reader: counted with it.
        out["_python_cpu_s"] = time.process_time() - cpu
        await asyncio.wait_for(consumer, 120)
        latencies = [seen[c] - sent[c] for c in expect]
        out["post_to_event_ms"] = {
            "p50": round(pct(latencies, 0.50) * 1000, 1),
            "p99": round(pct(latencies, 0.99) * 1000, 1),
            "mean": round(statistics.fmean(latencies) * 1000, 1),
            "max": round(max(latencies) * 1000, 1),
        }
    out["accepted"] = accepted
    out["accepted_per_s"] = round(accepted / accepted_s, 1)
    out["_accepted_s"] = accepted_s
    count = await scored(db_url, WARM_UP + accepted, 300)
    out["scored"] = count - WARM_UP
    out["scored_per_s"] = round(out["scored"] / (time.perf_counter() - started), 1)
    return out


async def run(args: argparse.Namespace) -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix="leadloop-bench-"))
    monitor = Monitor()
    services = ("intake", "scoring")
    async with bench_stack(workdir, monitor, services=services, watch_infra=False) as stack:
        before = monitor.cpu()
        result = await measure(args, stack)
        cpu = delta(monitor.cpu(), before)
    accepted = max(1, result["accepted"])
    generator_cpu = result.get("generator", {}).get("cpu_s", result.get("_python_cpu_s"))
    return {
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "broker": stack.broker_label,
        "leads": args.leads,
        "concurrency": args.concurrency,
        "loadgen_note": args.loadgen_note,
        **{k: v for k, v in result.items() if not k.startswith("_")},
        "cpu_s": cpu,
        "intake_cpu_ms_per_form_fill": round(cpu["intake"] * 1000 / accepted, 3),
        "scoring_cpu_ms_per_form_fill": round(cpu["scoring"] * 1000 / accepted, 3),
        "loadgen_cpu_s": None if generator_cpu is None else round(generator_cpu, 2),
        "loadgen_cpu_share_of_a_core": None
        if generator_cpu is None
        else round(generator_cpu / result["_accepted_s"], 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--leads", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--loadgen", choices=("go", "python"), default="go")
    parser.add_argument("--out", type=Path, default=Path("bench-intake.json"))
    args = parser.parse_args()
    args.exe, args.loadgen_note = None, "Python clients (httpx), as asked: they eat a core"
    if args.loadgen == "go":
        args.exe, args.loadgen_note = loadgen_go.binary()
        if args.exe is None:
            args.loadgen = "python"
        print(args.loadgen_note)
    result = asyncio.run(run(args))
    save(result, args.out, echo=False)
    print(f"{'metric':<44}{'value':>12}")
    rows = [
        ("form fills accepted per second", result["accepted_per_s"]),
        ("form fills scored per second", result["scored_per_s"]),
        ("intake CPU per form fill (ms)", result["intake_cpu_ms_per_form_fill"]),
        ("scoring CPU per form fill (ms)", result["scoring_cpu_ms_per_form_fill"]),
        ("load generator CPU (s)", result["loadgen_cpu_s"]),
    ]
    gen = result.get("generator")
    if gen:
        rows += [(f"HTTP latency {k} (ms)", v) for k, v in gen["latency_ms"].items()]
    for key, value in result.get("post_to_event_ms", {}).items():
        rows.append((f"POST -> event on leads.intake {key} (ms)", value))
    for name, value in rows:
        print(f"{name:<44}{value!s:>12}")
    print(f"\nJSON written to {args.out}")


if __name__ == "__main__":
    main()
