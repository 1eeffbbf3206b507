"""The loop bench's saturation phase finds saturation: leads in flight stepped up geometrically
(24, 48, 96, 192 by default), each step a closed loop of its own, until leads/s rises by
MIN_GAIN or less over the best step before it, the hand-off latency explodes, or the cap is
reached. Saturation is the step with the most leads/s. The plan, the stop rule and the curve's
table are pure, so tests/unit/test_bench_sweep.py checks them."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from .driver import Loop
from .loadgen import Lead

MIN_GAIN = 0.05  # a step that adds no more than 5% leads/s to the best before it ends the sweep
P99_LIMIT_MS = 10_000.0  # a hand-off p99 above 10 s is latency exploding, not throughput
FACTOR = 2
RAISE = "hand_raise_post_to_alert"


@dataclass(frozen=True)
class Plan:
    """The in-flight counts to try in order, each for `seconds` or `leads_cap` leads."""

    schedule: list[int]
    seconds: float
    leads_cap: int
    fixed: bool  # --concurrency N: exactly N in flight, no sweep


@dataclass(frozen=True)
class Step:
    """One point of the curve: a step's in-flight count and what it measured."""

    in_flight: int
    leads: int
    leads_per_s: float
    p50_ms: float | None  # hand-off, from the hand-raise POST
    p99_ms: float | None
    cpu_ms_per_lead: float  # services, broker and PostgreSQL; not the load generator
    write_transactions_per_lead: float
    missing_alerts: int


def in_flight_steps(start: int, cap: int, factor: int = FACTOR) -> list[int]:
    """start, start*factor, ... while below cap, then cap itself: [24, 48, 96, 192]."""
    if start < 1 or cap < start or factor < 2:
        raise ValueError(f"no sweep from {start} to {cap} by {factor}")
    steps = [start]
    while steps[-1] < cap:
        steps.append(min(cap, steps[-1] * factor))
    return steps


def verdict(
    steps: Sequence[Step],
    cap: int,
    min_gain: float = MIN_GAIN,
    p99_limit_ms: float = P99_LIMIT_MS,
) -> tuple[int, str | None]:
    """The best step's index (most leads/s, the fewer in flight on a tie) and why the sweep stops
    after the last step, or None to try the next one."""
    best = max(range(len(steps)), key=lambda i: (steps[i].leads_per_s, -i))
    last = steps[-1]
    if last.missing_alerts or (last.p99_ms or 0.0) > p99_limit_ms:
        return best, f"latency exploded (hand-off p99 above {p99_limit_ms:,.0f} ms, or alerts lost)"
    before = max((s.leads_per_s for s in steps[:-1]), default=None)
    if before is not None and last.leads_per_s <= before * (1 + min_gain):
        return best, f"leads/s did not rise by more than {100 * min_gain:.0f}%"
    if last.in_flight >= cap:
        return best, f"the cap of {cap} in flight reached"
    return best, None


def services_cpu_ms(cpu_ms: Mapping[str, float]) -> float:
    """CPU ms per lead of the services, the broker and PostgreSQL: not the load generator."""
    return sum(ms for name, ms in cpu_ms.items() if name != "loadgen")


def step_of(in_flight: int, figures: Mapping[str, Any]) -> Step:
    """A step's point from its phase figures (Loop.measure's document)."""
    raised = figures["latency_ms"][RAISE]
    return Step(
        in_flight=in_flight,
        leads=figures["leads"],
        leads_per_s=figures["alerts_per_s"],
        p50_ms=raised.get("p50"),
        p99_ms=raised.get("p99"),
        cpu_ms_per_lead=round(services_cpu_ms(figures["per_lead"]["cpu_ms"]), 1),
        write_transactions_per_lead=figures["per_lead"]["write_transactions"],
        missing_alerts=figures["missing_alerts"],
    )


COLUMNS = ("in flight", "leads/s", "p50 ms", "p99 ms", "CPU ms/lead", "writes/lead", "leads")


def row(step: Mapping[str, Any], best: bool = False) -> str:
    """A step as one line of the curve's table; the best step marked with *."""
    ms = ["n/a" if step[k] is None else f"{step[k]:,.0f}" for k in ("p50_ms", "p99_ms")]
    cells = [f"{step['in_flight']}", f"{step['leads_per_s']:.1f}", *ms]
    cells += [f"{step['cpu_ms_per_lead']:.1f}", f"{step['write_transactions_per_lead']:.1f}"]
    cells.append(f"{step['leads']:,}")
    missing = f"  {step['missing_alerts']} alerts missing" if step["missing_alerts"] else ""
    return ("* " if best else "  ") + "".join(f"{c:>12}" for c in cells) + missing


HEADER = "  " + "".join(f"{c:>12}" for c in COLUMNS)


def format_curve(sweep: Mapping[str, Any]) -> str:
    """The curve as a small table: a line per step, hand-off latency from the hand-raise."""
    head = f"saturation sweep, {sweep['step_s']:g} s per step: stopped, {sweep['stopped']}"
    lines = [head, HEADER]
    lines += [row(s, s["in_flight"] == sweep["best_in_flight"]) for s in sweep["steps"]]
    return "\n".join(lines)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The saturation phase's options."""
    parser.add_argument(
        "--concurrency",
        type=int,
        default=0,
        help="exactly N leads in flight at saturation, for --duration s: no sweep",
    )
    parser.add_argument(
        "--sweep-start", type=int, default=24, help="leads in flight, first step (then doubled)"
    )
    parser.add_argument("--sweep-cap", type=int, default=192, help="leads in flight, last step")
    parser.add_argument(
        "--step-seconds",
        type=float,
        default=0.0,
        help="seconds per sweep step (default: half of --duration)",
    )


def plan_of(args: argparse.Namespace) -> Plan:
    """What the options ask for: one step of --concurrency, or the sweep."""
    fixed = args.concurrency > 0
    schedule = [args.concurrency] if fixed else in_flight_steps(args.sweep_start, args.sweep_cap)
    seconds = args.step_seconds or (args.duration if fixed else args.duration / 2)
    return Plan(schedule, seconds, args.leads or 10**9, fixed)


async def run_step(loop: Loop, in_flight: int, seconds: float, leads_cap: int) -> dict[str, Any]:
    """`in_flight` leads in the loop for `seconds` (or `leads_cap` leads): the step's figures."""
    phase = f"saturation-{in_flight}"

    async def closed() -> tuple[list[Lead], float, dict[str, float]]:
        over = asyncio.Event()  # by time, or by the cap on leads
        first = loop.next_index

        def label() -> str | None:
            if loop.next_index - first >= leads_cap:
                over.set()
            return None if over.is_set() else phase

        workers = asyncio.create_task(loop.closed_loop(in_flight, label))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(over.wait(), seconds)
        over.set()
        end, cpu = time.perf_counter(), loop.monitor.cpu()
        return await workers, end, cpu  # the workers' last leads end the step

    return {"in_flight": in_flight, **await loop.measure(phase, closed)}


async def saturate(loop: Loop, plan: Plan) -> tuple[dict[str, Any], dict[str, Any]]:
    """The plan's steps until the stop rule ends them: the best step's figures (the saturation
    phase's) and the sweep (its settings, why it stopped, every step's point)."""
    figures: list[dict[str, Any]] = []
    steps: list[Step] = []
    best, stopped = 0, None
    print(
        f"saturation: in flight {plan.schedule}, {plan.seconds:g} s per step\n{HEADER}", flush=True
    )
    for in_flight in plan.schedule:
        figures.append(await run_step(loop, in_flight, plan.seconds, plan.leads_cap))
        steps.append(step_of(in_flight, figures[-1]))
        print(row(asdict(steps[-1])), flush=True)
        best, stopped = verdict(steps, plan.schedule[-1])
        if stopped is not None:
            break
    if plan.fixed:
        stopped = f"--concurrency {plan.schedule[0]}: one step, no sweep"
    print(f"saturation: {steps[best].in_flight} in flight; stopped, {stopped}", flush=True)
    sweep = {
        "schedule": plan.schedule,
        "step_s": plan.seconds,
        "min_gain": MIN_GAIN,
        "p99_limit_ms": P99_LIMIT_MS,
        "stopped": stopped,
        "best_in_flight": steps[best].in_flight,
        "steps": [asdict(step) for step in steps],
    }
    return figures[best], sweep
