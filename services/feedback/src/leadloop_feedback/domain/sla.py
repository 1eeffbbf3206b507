"""Both sides of the agreement: sales' speed to lead against the SLA, and marketing's volume
against its targets (pacing). Pure functions over read-model rows, with known answers."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from leadloop_feedback.domain.period import AVERAGE_MONTH_DAYS
from leadloop_feedback.domain.reports import Row, percentile, rate

Timed = tuple[float | None, Row]


def speed_to_lead(
    assignments: Sequence[Row],
    touches: Sequence[Row],
    *,
    by: str = "rep_id",
    sla_minutes: Callable[[Row], float] | None = None,
    as_of: datetime | None = None,
) -> list[dict[str, Any]]:
    """Minutes from assignment to first touch, p50/p90 per rep or team; the share touched
    within the SLA among the hand-offs that were touched or are past their deadline at `as_of`
    (one not yet touched with time left is pending, neither kept nor missed)."""
    as_of = as_of or datetime.now(UTC)
    firsts = _touch_times(touches)
    groups: dict[str, list[Timed]] = defaultdict(list)
    for a in assignments:
        key = "all" if by == "all" else str(a.get(by) or "queue")
        groups[key].append((_first_touch_minutes(a, firsts), a))
    return [_speed_row(key, groups[key], firsts, as_of) for key in sorted(groups)]


def _touch_times(touches: Sequence[Row]) -> dict[str, list[datetime]]:
    """Every touch's time, per lead."""
    firsts: dict[str, list[datetime]] = defaultdict(list)
    for t in touches:
        firsts[t["lead_id"]].append(t["touched_at"])
    return firsts


def _first_touch_minutes(a: Row, firsts: dict[str, list[datetime]]) -> float | None:
    """Minutes from an assignment to the lead's first touch after it, None if untouched."""
    after = [t for t in firsts.get(a["lead_id"], []) if t >= a["assigned_at"]]
    return (min(after) - a["assigned_at"]).total_seconds() / 60 if after else None


def _speed_row(
    key: str, items: list[Timed], firsts: dict[str, list[datetime]], as_of: datetime
) -> dict[str, Any]:
    """One rep's or team's speed to lead, SLA share, attempts, breaches and reassignments."""
    times = [m for m, _ in items if m is not None]
    within = [
        m
        for m, a in items
        if m is not None
        and a.get("sla_deadline") is not None
        and a["assigned_at"].timestamp() + m * 60 <= a["sla_deadline"].timestamp()
    ]
    pending = sum(
        1
        for m, a in items
        if m is None and a.get("sla_deadline") is not None and a["sla_deadline"] > as_of
    )
    attempts = sum(
        1
        for _, a in items
        for touched_at in firsts.get(a["lead_id"], [])
        if touched_at >= a["assigned_at"]
    )
    return {
        "group": key,
        "assigned": len(items),
        "touched": len(times),
        "p50_minutes": _round(percentile(times, 0.5)),
        "p90_minutes": _round(percentile(times, 0.9)),
        "pending": pending,
        "touched_within_sla": rate(len(within), len(items) - pending),
        "attempts": attempts,
        "breaches": sum(int(a.get("breaches") or 0) for _, a in items),
        "reassignments": sum(int(a.get("reassignments") or 0) for _, a in items),
    }


SPEED_BUCKETS: tuple[tuple[str, float], ...] = (
    ("< 5 min", 5),
    ("5–15 min", 15),
    ("15–30 min", 30),
    ("30–60 min", 60),
    ("1–4 h", 240),
    ("4–24 h", 1440),
    ("> 1 day", math.inf),
)


def speed_histogram(assignments: Sequence[Row], touches: Sequence[Row]) -> list[dict[str, Any]]:
    """How many hand-offs were first touched within each band of minutes, plus the untouched."""
    firsts = _touch_times(touches)
    counts = dict.fromkeys([label for label, _ in SPEED_BUCKETS] + ["not touched"], 0)
    for a in assignments:
        minutes = _first_touch_minutes(a, firsts)
        if minutes is None:
            counts["not touched"] += 1
            continue
        label = next(label for label, upper in SPEED_BUCKETS if minutes < upper)
        counts[label] += 1
    return [{"band": label, "count": n} for label, n in counts.items()]


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def prorated(per_month: int | None, period_days: float) -> int | None:
    """A monthly target scaled to a period of `period_days` (None without a target)."""
    return round(per_month * period_days / AVERAGE_MONTH_DAYS) if per_month else None


def pacing(
    delivered: int,
    target: int | None,
    elapsed_days: float,
    period_days: float,
    *,
    per_month: int | None = None,
) -> dict[str, Any]:
    """Delivered against the period's target, and where today's rate lands by the end of the
    period; with the monthly target as the agreement writes it, `goal` says both."""
    if not target:
        return {
            "delivered": delivered,
            "target": None,
            "target_per_month": None,
            "goal": None,
            "projected": None,
            "pacing": None,
        }
    projected = delivered / elapsed_days * period_days if elapsed_days > 0 else 0.0
    share = projected / target
    goal = f"{target} for the period"
    if per_month:
        goal = f"{per_month} per month; {target} prorated to this period"
    return {
        "delivered": delivered,
        "target": target,
        "target_per_month": per_month,
        "goal": goal,
        "projected": round(projected, 1),
        "pacing": round(share, 4),
        "summary": f"at today's rate you will reach {share:.0%} of the target",
    }
