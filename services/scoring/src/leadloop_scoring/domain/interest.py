"""Interest: what the lead does, with caps and decay (half-life), and when decay next matters."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from leadloop_contract.agreement import Agreement
from leadloop_contract.values import ActivityType
from leadloop_events.lifecycle import ScoreLine
from leadloop_scoring.domain.decay import first_below

SECONDS_PER_DAY = 86_400.0
HORIZON_HALF_LIVES = 12
PAST_CROSSING = timedelta(seconds=1)


@dataclass(frozen=True)
class ActivityFact:
    """One behaviour signal as scoring keeps it."""

    activity_type: ActivityType
    occurred_at: datetime
    campaign: str | None = None
    url: str | None = None


def decayed(points: float, age_days: float, half_life_days: float) -> float:
    """points × 0.5^(age / half-life); an activity from the future counts in full."""
    return float(points * 0.5 ** (max(age_days, 0.0) / half_life_days))


def in_window(
    agreement: Agreement,
    facts: Sequence[ActivityFact],
    now: datetime,
    since: datetime | None = None,
) -> list[ActivityFact]:
    """The activities inside the interest window (and after `since`, for a recycled lead)."""
    start = now - timedelta(days=agreement.interest.window_days)
    if since is not None:
        start = max(start, since)
    return [f for f in facts if start <= f.occurred_at <= now]


def counted(
    agreement: Agreement,
    facts: Sequence[ActivityFact],
    now: datetime,
    since: datetime | None = None,
) -> list[ActivityFact]:
    """The activities that earn interest points (unsubscribes are a negative rule instead)."""
    return [
        f
        for f in in_window(agreement, facts, now, since)
        if f.activity_type in agreement.interest.points
    ]


def interest_lines(
    agreement: Agreement,
    facts: Sequence[ActivityFact],
    now: datetime,
    since: datetime | None = None,
) -> tuple[float, list[ScoreLine]]:
    """Interest points and one readable line per activity type."""
    rules = agreement.interest
    by_type: dict[ActivityType, list[float]] = defaultdict(list)
    for fact in counted(agreement, facts, now, since):
        age = (now - fact.occurred_at).total_seconds() / SECONDS_PER_DAY
        by_type[fact.activity_type].append(
            decayed(rules.points[fact.activity_type], age, rules.half_life_days)
        )
    lines: list[ScoreLine] = []
    total = 0.0
    for activity_type in sorted(by_type):
        values = by_type[activity_type]
        raw = sum(values)
        cap = rules.caps.per_type.get(activity_type)
        points = min(raw, cap) if cap is not None else raw
        capped = f", capped at {cap:g}" if cap is not None and raw > cap else ""
        lines.append(
            ScoreLine(
                rule=f"interest:{activity_type}",
                kind="interest",
                points=round(points, 2),
                reason=f"{len(values)} × {activity_type}, decayed (half-life "
                f"{rules.half_life_days:g} days){capped}: +{points:.1f}",
            )
        )
        total += points
    if rules.caps.max_interest is not None and total > rules.caps.max_interest:
        over = total - rules.caps.max_interest
        lines.append(
            ScoreLine(
                rule="interest:max",
                kind="interest",
                points=round(-over, 2),
                reason=f"interest is capped at {rules.caps.max_interest:g} points",
            )
        )
        total = rules.caps.max_interest
    return max(total, 0.0), lines


def interest_at(
    agreement: Agreement, facts: Sequence[ActivityFact], at: datetime, since: datetime | None = None
) -> float:
    """The interest points the lead has at time `at`."""
    return interest_lines(agreement, facts, at, since)[0]


def band_of(agreement: Agreement, interest: float) -> str:
    """The highest band whose lower bound the interest reaches."""
    bands = sorted(agreement.interest.bands.items(), key=lambda kv: kv[1])
    name = bands[0][0]
    for band, lower in bands:
        if interest >= lower:
            name = band
    return name


def thresholds(agreement: Agreement) -> list[float]:
    """Interest levels where something changes: band bounds and the engaged threshold."""
    levels = {agreement.matrix.interest_threshold, *agreement.interest.bands.values()}
    return sorted(v for v in levels if v > 0)


def next_rescore_at(
    agreement: Agreement,
    facts: Sequence[ActivityFact],
    now: datetime,
    since: datetime | None = None,
) -> datetime | None:
    """When decay alone takes interest below the next lower threshold; None if it never will."""
    # "Never" is: not within HORIZON_HALF_LIVES half-lives. The crossing is solved in closed
    # form (domain/decay.py), then confirmed: interest at the instant returned is below the
    # threshold, as the bisection that came before guaranteed, so the re-score sees the change.
    current = interest_at(agreement, facts, now, since)
    below = [t for t in thresholds(agreement) if t <= current]
    if not below:
        return None
    target = below[-1]
    until = now + timedelta(days=agreement.interest.half_life_days * HORIZON_HALF_LIVES)
    crossing = first_below(agreement, facts, now, until, target, since)
    if crossing is None:
        return None
    # A second past the crossing: past any rounding in it, and still well within a minute.
    due, step = min(crossing + PAST_CROSSING, until), PAST_CROSSING
    while interest_at(agreement, facts, due, since) >= target:
        if due >= until:
            return None
        due, step = min(due + step, until), step * 2
    return due
