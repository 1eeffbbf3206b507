"""When decay alone takes interest below a level: the crossing solved in closed form.

Interest is, per activity type, the points of the activities inside the window halving every
half-life h, capped per type. Counted in days x after `now`, a type's uncapped sum is one
exponential W·2^(-x/h) between the instants where an activity enters or leaves the window (W:
its activities' points scaled to `now`); its cap binds until that sum falls to the cap, at
x = h·log2(W/cap). So between those instants interest is C + B·2^(-x/h) piece by piece (C: the
caps still binding; B: the weights no longer capped); it only falls (an activity dated ahead of
`now` raises it as it enters), and it meets the level at x = h·log2(B / (level - C)). The
overall cap (max_interest) is at or above any level the caller asks about, so it never decides
the crossing.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from leadloop_contract.agreement import Agreement
from leadloop_contract.values import ActivityType

if TYPE_CHECKING:
    from leadloop_scoring.domain.interest import ActivityFact

SECONDS_PER_DAY = 86_400.0
# What counts of one activity type: how many activities, and their points scaled to `now`.
Counted = dict[ActivityType, tuple[int, float]]
# A change in the window: (days after now, +1 enters / -1 leaves, its type, its weight).
Change = tuple[float, int, ActivityType, float]
# Between two changes: (from, to, in days after now; what counts meanwhile).
Segment = tuple[float, float, Counted]


def first_below(
    agreement: Agreement,
    facts: Sequence[ActivityFact],
    now: datetime,
    until: datetime,
    level: float,
    since: datetime | None = None,
) -> datetime | None:
    """The first instant after `now` from which interest is below `level`; None: not by `until`."""
    # The instant itself may still be at the level: a window's end, where the activity still
    # counts, or the exact point on the curve. The caller asks for a moment past it.
    rules = agreement.interest
    caps, half_life = rules.caps.per_type, rules.half_life_days
    if level <= 0:
        return None
    if rules.caps.max_interest is not None and rules.caps.max_interest < level:
        return now
    end = (until - now).total_seconds() / SECONDS_PER_DAY
    counted, changes = _window(agreement, facts, now, end, since)
    segments = _segments(counted, changes, end)
    # Interest only falls once no activity dated ahead of `now` is still to enter the window:
    # from there, the first segment ending below the level is found by bisecting the segments.
    entered = max((at for at, sign, _, _ in changes if sign > 0), default=0.0)
    falling = bisect_left(segments, entered, key=lambda segment: segment[0])
    i = 0
    while i < len(segments):
        if i >= falling:
            i = bisect_left(
                segments,
                True,
                lo=i,
                key=lambda s: _value(s[2], caps, half_life, s[1]) < level,
            )
            if i == len(segments):
                return None
        start, stop, state = segments[i]
        found = _crossing(state, caps, half_life, level, start, stop)
        if found is not None:
            return now + timedelta(days=found)
        i += 1
    return None


def _window(
    agreement: Agreement,
    facts: Iterable[ActivityFact],
    now: datetime,
    end: float,
    since: datetime | None,
) -> tuple[Counted, list[Change]]:
    """What counts just after `now`, and every entry to or exit from the window before `end`."""
    rules = agreement.interest
    counted: Counted = {}
    changes: list[Change] = []
    for fact in facts:
        points = rules.points.get(fact.activity_type)
        if points is None or (since is not None and fact.occurred_at < since):
            continue
        at = (fact.occurred_at - now).total_seconds() / SECONDS_PER_DAY
        leaves = at + rules.window_days
        if leaves <= 0 or at >= end:
            continue  # out of the window from now on, or not in it before the horizon
        weight = points * 2.0 ** (at / rules.half_life_days)
        if at <= 0:
            count, total = counted.get(fact.activity_type, (0, 0.0))
            counted[fact.activity_type] = (count + 1, total + weight)
        else:  # an activity dated after now (a clock ahead) counts from its own time on
            changes.append((at, 1, fact.activity_type, weight))
        if leaves < end:
            changes.append((leaves, -1, fact.activity_type, weight))
    changes.sort(key=lambda change: change[0])
    return counted, changes


def _segments(counted: Counted, changes: Sequence[Change], end: float) -> list[Segment]:
    """The stretches between changes to the window, each with what counts during it."""
    segments: list[Segment] = []
    start, state = 0.0, counted
    for at, sign, activity_type, weight in changes:
        if at != start:
            segments.append((start, at, state))
            start, state = at, dict(state)
        count, total = state.get(activity_type, (0, 0.0))
        state[activity_type] = (count + sign, total + sign * weight if count + sign else 0.0)
    segments.append((start, end, state))
    return segments


def _value(state: Counted, caps: Mapping[ActivityType, float], half_life: float, x: float) -> float:
    """Interest x days after now, with what `state` counts (before the overall cap)."""
    decay = 2.0 ** (-x / half_life)
    total = 0.0
    for activity_type, (count, weight) in state.items():
        if count:
            cap = caps.get(activity_type)
            total += weight * decay if cap is None else min(cap, weight * decay)
    return total


def _crossing(
    state: Counted,
    caps: Mapping[ActivityType, float],
    half_life: float,
    level: float,
    start: float,
    stop: float,
) -> float | None:
    """The first x in [start, stop] from which C + B·2^(-x/h) is below `level`, if any."""
    constant, weight = 0.0, 0.0
    releases: list[tuple[float, float, float]] = []  # (x where a cap stops binding, cap, W)
    for activity_type, (count, counted) in state.items():
        cap = caps.get(activity_type)
        if not count:
            continue
        if cap is None:
            weight += counted
        elif cap <= 0 or counted <= 0:
            constant += min(cap, 0.0)  # at or below every sum of points: it always binds
        else:
            release = half_life * math.log2(counted / cap)
            if release <= start:
                weight += counted
            else:
                constant += cap
                releases.append((release, cap, counted))
    if constant + weight * 2.0 ** (-start / half_life) < level:
        return start
    lower = start
    for upper, cap, released in [*sorted(r for r in releases if r[0] < stop), (stop, 0.0, 0.0)]:
        if constant + weight * 2.0 ** (-upper / half_life) < level:
            solved = half_life * math.log2(weight / (level - constant))
            return max(lower, min(upper, solved))
        constant, weight, lower = constant - cap, weight + released, upper
    return None
