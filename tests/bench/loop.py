"""`make bench`: the whole loop, intake -> scoring -> routing -> leads.handoff, with sales
answering each alert on feedback; the four services as processes on the embedded broker (Tansu),
then on Apache Kafka where java and its jars are here (tests/bench/brokers.py), and Postgres
(or the ones KAFKA_BOOTSTRAP_SERVERS / DATABASE_URL name), next to the machine's baselines
measured in the same run on the same broker. Prints a table per broker, then both side by side,
and writes JSON (and a py-spy profile per broker).

    python -m tests.bench.loop [--broker tansu|kafka|both] [--rate R] [--duration 30]
                               [--sweep-start 24] [--sweep-cap 192] [--step-seconds S]
                               [--concurrency N] [--leads N] [--profile-seconds 10]
                               [--history N] [--out bench-loop.json]

Hand-off latency is measured per lead from the form fill's POST and from the hand-raise's
POST (the demo request that makes the lead an SQL) to its lead.assigned event being readable
on leads.handoff. Phases: warm-up; saturation, found by a sweep (tests/bench/sweep.py): closed
loops of 24, 48, 96, 192 leads in flight (each worker starting its next lead when the previous
one's alert is readable), each for half of --duration, until leads/s rises by 5% or less, the
hand-off explodes or the cap is reached; the best step is saturation (`--concurrency N`: exactly
N in flight for --duration, no sweep); the best step's load again while py-spy profiles the
service that used most CPU in it (not counted in the figures); a steady rate (open loop: --rate
leads/s, by default half the saturation throughput, so the latency is that of a loaded but not
overloaded loop). `--history N` first writes N past (touched) assignments of the reps into
routing's table (tests/bench/history.py): the hand-off with a history behind it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

from leadloop_cli.demo_sales import set_up
from leadloop_cli.services import SERVICES
from leadloop_messaging.provisioning import DEFAULT_PARTITIONS

from . import baselines, brokers, compare, history, report, sweep
from .driver import Loop
from .loadgen import Lead, Marketing, Reader, Sales
from .procs import Monitor, py_spy
from .stack import KEY, Stack, bench_stack


async def baseline(args: argparse.Namespace, stack: Stack, idempotent: bool) -> tuple[Any, Any]:
    """The machine's baselines on this run's broker and PostgreSQL: the bare chain, commits."""
    print("baselines: bare Kafka chain, Postgres commits", flush=True)
    base_s = min(5.0, max(2.0, args.duration / 4))
    chain = await baselines.kafka_chain(
        stack.bootstrap,
        stack.prefix,
        partitions=DEFAULT_PARTITIONS,
        fetch_wait_ms=int(os.environ.get("LEADLOOP_KAFKA_FETCH_MAX_WAIT_MS", "10")),
        latency_rate=100.0,
        latency_s=base_s,
        throughput_messages=int(4000 * base_s),
        logs=stack.workdir,
        idempotent=idempotent,
    )
    commits = await baselines.postgres_commits(stack.db_url, connections=4, seconds=base_s)
    return chain, commits


async def run(args: argparse.Namespace, kind: str) -> dict[str, Any]:
    """One whole run on the broker `kind` names: its baselines, then the loop's phases."""
    workdir = Path(tempfile.mkdtemp(prefix=f"leadloop-bench-loop-{kind}-"))
    monitor = Monitor()
    monitor.watch("loadgen", os.getpid())
    tasks: list[asyncio.Task[Any]] = []
    load0 = os.getloadavg()
    seeded_s = 0.0
    async with bench_stack(workdir, monitor, broker_kind=kind) as stack:
        try:
            idempotent = await brokers.idempotent(stack.bootstrap)
            chain, commits = await baseline(args, stack, idempotent)
            env = {
                "LEADLOOP_ENV": "test",
                "LEADLOOP_KAFKA_SESSION_TIMEOUT_MS": str(brokers.SESSION_TIMEOUT_MS[kind]),
                "LEADLOOP_KAFKA_HEARTBEAT_INTERVAL_MS": "500",
            }
            await stack.serve([service.name for service in SERVICES], env)
            tasks.append(asyncio.create_task(monitor.run()))
            result, seeded_s = await drive(args, stack, monitor, tasks, kind)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            usage = monitor.report({})
    load1 = os.getloadavg()
    setup = {"broker": brokers.LABELS[kind], "idempotent_producer": idempotent}
    setup |= {"historical_assignments": args.history, "history_seeded_s": seeded_s}
    return report.assemble(args, result, chain, commits, usage, load0, load1, setup)


async def drive(
    args: argparse.Namespace, stack: Stack, monitor: Monitor, tasks: list[Any], kind: str
) -> tuple[dict[str, Any], float]:
    """The reps set up, the history seeded, the readers and sales at work; then the phases."""
    headers = {"authorization": f"Bearer {KEY}"}
    pool = max(200, *sweep.plan_of(args).schedule)  # a connection per lead in flight
    # Idle connections dropped before uvicorn's 5 s keep-alive closes them: at equal timeouts a
    # request sent on a connection the server is closing fails (httpx.ReadError), as it did
    # once after a pause between the sweep's steps.
    limits = httpx.Limits(
        max_connections=pool, max_keepalive_connections=pool, keepalive_expiry=2.0
    )

    def client(name: str) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            base_url=stack.urls[name], headers=headers, timeout=60, limits=limits
        )

    seeded_s = 0.0
    async with (
        client("intake") as intake,
        client("routing") as routing,
        client("feedback") as feedback,
    ):
        await set_up(routing, feedback)  # reps always at work, in every team
        if args.history:
            print(f"history: seeding {args.history:,} past assignments", flush=True)
            seeded_s = await history.seed(stack.db_url, args.history)
        reader = Reader(stack.bootstrap, stack.prefix)
        sales = Sales(feedback, reader.alerts)
        tasks.append(asyncio.create_task(reader.run()))
        tasks += [asyncio.create_task(sales.work()) for _ in range(4)]
        marketing = Marketing(intake, uuid.uuid4().hex[:6])
        loop = Loop(marketing, reader, sales, monitor, stack.db_url)
        return await phases(args, loop, stack.workdir, kind), seeded_s


async def profile_at(
    args: argparse.Namespace, loop: Loop, saturation: dict[str, Any], kind: str
) -> dict[str, Any]:
    """py-spy on the service that used most CPU in the best step, under that step's load again
    (its leads are not counted in any figure)."""
    used, in_flight = saturation["cpu_s"], saturation["in_flight"]
    busiest = max((x.name for x in SERVICES), key=lambda n: used.get(n, 0.0))
    pid = loop.monitor.watched[busiest].root.pid
    # bench-*.json is git-ignored; speedscope.app (or `speedscope`) opens the file.
    out = args.out.with_name(f"{args.out.stem}-{kind}-profile-{busiest}.speedscope.json")
    running, loaded, starts = [True], asyncio.Event(), [0]

    def label() -> str | None:
        # A worker asks again once its lead's alert is readable: after the first `in_flight`
        # starts, as many more mean the loop has turned over once, loaded as in the step.
        starts[0] += 1
        if starts[0] > 2 * in_flight:
            loaded.set()
        return "profile" if running[0] else None

    workers = asyncio.create_task(loop.closed_loop(in_flight, label))
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(loaded.wait(), 30)
    print(f"profiling {busiest} (pid {pid}) for {args.profile_seconds} s", flush=True)
    profile = await py_spy(pid, args.profile_seconds, out)
    running[0] = False
    await loop.drain(await workers)
    return {"service": busiest, "in_flight": in_flight, **profile}


async def phases(args: argparse.Namespace, loop: Loop, workdir: Path, kind: str) -> dict[str, Any]:
    """Warm-up, the saturation sweep (then the profile), a steady rate; then count what arrived."""
    cap = args.leads or 10**9
    print("warm-up: 20 leads (consumer groups join, caches fill)", flush=True)
    warm = await loop.closed_loop(4, lambda: "warm-up" if loop.next_index < 20 else None)
    await loop.drain(warm)
    saturation, curve = await sweep.saturate(loop, sweep.plan_of(args))
    profile = await profile_at(args, loop, saturation, kind) if args.profile_seconds > 0 else {}
    # Unless told, the steady rate is half the saturation throughput: loaded, not overloaded.
    rate_per_s = args.rate or max(0.5, round(saturation["alerts_per_s"] / 2, 1))
    rate_count = min(cap, max(1, int(rate_per_s * args.duration)))
    print(f"steady rate: {rate_count} leads at {rate_per_s}/s", flush=True)

    async def steady() -> tuple[list[Lead], float, dict[str, float]]:
        leads = await loop.open_loop(rate_per_s, rate_count, "rate")
        return leads, time.perf_counter(), loop.monitor.cpu()

    rate = await loop.measure("rate", steady)
    rate["rate_per_s"] = rate_per_s
    everything = loop.marketing.leads
    await loop.drain(everything)
    alerts, sales = loop.reader.alerts_per_lead, loop.sales
    return {
        "phases": {"rate": rate, "saturation": saturation},
        "sweep": curve,
        "profile": profile,
        "integrity": {
            "form_fills_accepted": len(everything),
            "leads_with_alert": sum(1 for x in everything if alerts[x.lead_id] > 0),
            "leads_without_alert": sum(1 for x in everything if alerts[x.lead_id] == 0),
            "duplicate_alerts": sum(n - 1 for n in alerts.values() if n > 1),
            "touches_accepted": len(sales.accepted),
            "touches_failed": len(sales.failed),
            "touch_retries_422": sales.retries,
            "touch_failures_sample": dict(list(sales.failed.items())[:3]),
        },
        "logs": str(workdir),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--broker",
        choices=brokers.CHOICES,
        default="both",
        help="the embedded Tansu, Apache Kafka, or one after the other (default)",
    )
    parser.add_argument(
        "--rate",
        type=float,
        default=0.0,
        help="leads/s in the steady phase (default: half of saturation)",
    )
    parser.add_argument("--duration", type=float, default=30.0, help="seconds per phase")
    sweep.add_arguments(parser)
    parser.add_argument(
        "--leads", type=int, default=0, help="at most N leads per phase and sweep step"
    )
    parser.add_argument("--profile-seconds", type=float, default=10.0)
    parser.add_argument(
        "--history",
        type=int,
        default=0,
        help="past assignments seeded into routing's table before the run (tests/bench/history.py)",
    )
    parser.add_argument("--out", type=Path, default=Path("bench-loop.json"))
    args = parser.parse_args()
    try:
        sweep.plan_of(args)
    except ValueError as refused:
        parser.error(str(refused))
    external = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    kinds, skipped = brokers.plan(args.broker, brokers.kafka_unavailable(), external)
    for name, reason in skipped.items():
        print(f"{name} skipped: {reason}", flush=True)
    results: dict[str, dict[str, Any]] = {}
    for kind in kinds:
        print(f"\n=== the loop on {brokers.LABELS[kind]} ===", flush=True)
        results[kind] = asyncio.run(run(args, kind))
        report.print_table(results[kind])
        table = compare.side_by_side(results)
        document = {"runs": results, "skipped": skipped, "side_by_side": table}
        args.out.write_text(json.dumps(document, indent=2) + "\n")  # each run kept as it ends
    print("\n=== side by side: same run, same machine, one broker after the other ===")
    print(compare.format_table(compare.side_by_side(results), skipped))
    print(f"\nJSON written to {args.out}")


if __name__ == "__main__":
    main()
