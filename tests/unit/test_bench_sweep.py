"""The loop bench's saturation sweep (tests/bench/sweep.py): the in-flight counts it tries,
the stop rule (which step is best, when to stop), a step's point and the curve's table."""

from __future__ import annotations

import argparse
from dataclasses import asdict
from typing import Any

import pytest

from tests.bench.sweep import (
    P99_LIMIT_MS,
    Step,
    add_arguments,
    format_curve,
    in_flight_steps,
    plan_of,
    services_cpu_ms,
    step_of,
    verdict,
)

FLAT = "leads/s did not rise by more than 5%"


def curve(*points: tuple[int, float], p99_ms: float = 900.0, missing: int = 0) -> list[Step]:
    """Steps of (in flight, leads/s); the last one with the given p99 and missing alerts."""
    steps = [
        Step(n, 400, per_s, 400.0, 900.0, 35.3, 8.7, 0) for n, per_s in points[:-1]
    ]  # fmt: skip
    n, per_s = points[-1]
    return [*steps, Step(n, 400, per_s, 400.0, p99_ms, 35.3, 8.7, missing)]


def test_in_flight_doubles_from_the_start_up_to_the_cap() -> None:
    assert in_flight_steps(24, 192) == [24, 48, 96, 192]
    assert in_flight_steps(24, 150) == [24, 48, 96, 150]  # the cap is the last step
    assert in_flight_steps(8, 8) == [8]
    assert in_flight_steps(10, 100, factor=3) == [10, 30, 90, 100]
    for start, cap in ((0, 24), (48, 24)):
        with pytest.raises(ValueError):
            in_flight_steps(start, cap)


def test_the_sweep_goes_on_while_leads_per_s_rise_by_more_than_5_percent() -> None:
    assert verdict(curve((24, 40.0)), cap=192) == (0, None)
    assert verdict(curve((24, 40.0), (48, 42.1)), cap=192) == (1, None)  # +5.25%
    best, stopped = verdict(curve((24, 40.0), (48, 55.0), (96, 57.0)), cap=192)
    assert (best, stopped) == (2, FLAT)  # +3.6%: the best, the last
    best, stopped = verdict(curve((24, 40.0), (48, 42.0)), cap=192)
    assert (best, stopped) == (1, FLAT)  # exactly 5%: not more


def test_a_step_that_loses_leads_per_s_stops_the_sweep_and_the_best_stays() -> None:
    best, stopped = verdict(curve((24, 40.0), (48, 55.0), (96, 49.0)), cap=192)
    assert (best, stopped) == (1, FLAT)
    # Measured against the best step before, not the previous one: 52 is 6% over 49, not over 55.
    best, stopped = verdict(curve((24, 55.0), (48, 49.0), (96, 52.0)), cap=192)
    assert (best, stopped) == (0, FLAT)


def test_a_tie_goes_to_the_fewer_leads_in_flight() -> None:
    assert verdict(curve((24, 40.0), (48, 40.0)), cap=192)[0] == 0


def test_the_cap_ends_a_sweep_that_still_rises() -> None:
    steps = curve((24, 40.0), (48, 60.0), (96, 80.0), (192, 100.0))
    assert verdict(steps, cap=192) == (3, "the cap of 192 in flight reached")
    assert verdict(curve((32, 40.0)), cap=32) == (0, "the cap of 32 in flight reached")


def test_exploding_latency_ends_the_sweep() -> None:
    over = P99_LIMIT_MS + 1
    best, stopped = verdict(curve((24, 40.0), (48, 60.0), p99_ms=over), cap=192)
    assert best == 1  # still the most leads/s measured
    assert stopped is not None and stopped.startswith("latency exploded")
    best, stopped = verdict(curve((24, 40.0), (48, 60.0), missing=2), cap=192)
    assert stopped is not None and stopped.startswith("latency exploded")
    assert verdict(curve((24, 40.0), (48, 60.0), p99_ms=P99_LIMIT_MS), cap=192) == (1, None)


def figures(alerts_per_s: float, p99: float | None) -> dict[str, Any]:
    """A step's figures as Loop.measure writes them, reduced to what a point reads."""
    raised = {"count": 0} if p99 is None else {"count": 9, "p50": 410.0, "p99": p99}
    return {
        "leads": 1234,
        "alerts_per_s": alerts_per_s,
        "missing_alerts": 0,
        "latency_ms": {"hand_raise_post_to_alert": raised},
        "per_lead": {
            "cpu_ms": {"intake": 8.1, "postgres": 7.3, "broker": 4.3, "loadgen": 8.1},
            "write_transactions": 8.7,
        },
    }


def test_a_step_s_point_leaves_the_load_generator_out_of_the_cpu() -> None:
    assert services_cpu_ms({"intake": 8.1, "loadgen": 8.1, "broker": 4.3}) == pytest.approx(12.4)
    point = step_of(48, figures(40.4, 911.0))
    assert point == Step(48, 1234, 40.4, 410.0, 911.0, 19.7, 8.7, 0)
    unmeasured = step_of(24, figures(0.0, None))
    assert (unmeasured.p50_ms, unmeasured.p99_ms) == (None, None)


def test_the_curve_prints_a_line_per_step_and_marks_the_best() -> None:
    steps = [asdict(step_of(24, figures(40.4, 911.0))), asdict(step_of(48, figures(47.0, None)))]
    sweep = {"step_s": 15.0, "stopped": "the cap of 48 in flight reached", "best_in_flight": 48}
    lines = format_curve({**sweep, "steps": steps}).splitlines()
    assert lines[0] == "saturation sweep, 15 s per step: stopped, the cap of 48 in flight reached"
    assert lines[2].split() == ["24", "40.4", "410", "911", "19.7", "8.7", "1,234"]
    assert lines[3].split() == ["*", "48", "47.0", "n/a", "n/a", "19.7", "8.7", "1,234"]


def options(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument("--duration", type=float, default=30.0)
    parser.add_argument("--leads", type=int, default=0)
    add_arguments(parser)
    return parser.parse_args(argv)


def test_concurrency_keeps_meaning_exactly_that_many_for_the_whole_duration() -> None:
    fixed = plan_of(options("--concurrency", "24"))
    assert (fixed.schedule, fixed.seconds, fixed.fixed) == ([24], 30.0, True)
    swept = plan_of(options("--leads", "400"))
    assert (swept.schedule, swept.seconds, swept.leads_cap) == ([24, 48, 96, 192], 15.0, 400)
    chosen = plan_of(options("--sweep-start", "16", "--sweep-cap", "64", "--step-seconds", "4"))
    assert (chosen.schedule, chosen.seconds, chosen.fixed) == ([16, 32, 64], 4.0, False)
