"""The next re-score in closed form, against the bisection it replaced (kept here, as the slow
reference): random agreements and histories, then the edge cases one by one."""

from __future__ import annotations

import math
import random
from datetime import datetime, timedelta
from typing import Any

from leadloop_contract.agreement import Agreement
from leadloop_contract.values import ActivityType
from leadloop_scoring.domain.interest import (
    HORIZON_HALF_LIVES,
    ActivityFact,
    interest_at,
    next_rescore_at,
    thresholds,
)

from .factories import NOW, agreement_with, did

TYPES: list[ActivityType] = [
    "page_view",
    "pricing_page_view",
    "email_open",
    "email_click",
    "demo_request",
]
SECOND, MINUTE = timedelta(seconds=1), timedelta(minutes=1)
NO_CAPS: dict[str, Any] = {"per_type": {}, "max_interest": None}


def bisected(
    agreement: Agreement, facts: list[ActivityFact], now: datetime, since: datetime | None
) -> datetime | None:
    """The bisection next_rescore_at used to run: within a minute after the crossing."""
    current = interest_at(agreement, facts, now, since)
    below = [t for t in thresholds(agreement) if t <= current]
    if not below:
        return None
    target = below[-1]
    horizon = timedelta(days=agreement.interest.half_life_days * HORIZON_HALF_LIVES)
    low, high = now, now + horizon
    if interest_at(agreement, facts, high, since) >= target:
        return None
    while high - low > MINUTE:
        middle = low + (high - low) / 2
        if interest_at(agreement, facts, middle, since) >= target:
            low = middle
        else:
            high = middle
    return high


def random_agreement(rng: random.Random) -> Agreement:
    """Points, window, half-life, caps and thresholds drawn at random (a valid agreement)."""
    points = {t: rng.choice([0, 1, 3, 8, 12, 40, rng.uniform(0.5, 60)]) for t in TYPES}
    capped = rng.sample(TYPES, rng.randint(0, len(TYPES)))
    bounds = rng.sample(range(1, 90), 2)
    return agreement_with(
        interest__points=points,
        interest__window_days=rng.randint(1, 120),
        interest__half_life_days=rng.choice([0.5, 7, 30, rng.uniform(0.2, 90)]),
        interest__caps={
            "per_type": {t: rng.choice([5, 10, 24, rng.uniform(0.5, 40)]) for t in capped},
            "max_interest": rng.choice([None, 100, rng.uniform(20, 150)]),
        },
        interest__bands={"low": 0, "warm": min(bounds), "hot": max(bounds)},
        matrix__interest_threshold=rng.choice([*bounds, rng.uniform(1, 90)]),
    )


def random_history(
    rng: random.Random, agreement: Agreement
) -> tuple[list[ActivityFact], datetime | None]:
    """Up to 30 past activities, some exactly at a window's edge or at once; maybe a `since`."""
    window = agreement.interest.window_days
    ages = [rng.uniform(0, window * 1.3) for _ in range(rng.randint(0, 30))]
    ages += rng.choice([[], [0.0], [float(window)], [window * rng.random()] * 3])
    facts = [ActivityFact(rng.choice(TYPES), NOW - timedelta(days=age)) for age in ages]
    since = rng.choice([None, None, NOW - timedelta(days=rng.uniform(0, window))])
    return facts, since


def test_the_closed_form_matches_the_bisection_on_random_histories() -> None:
    rng = random.Random(17)
    outcomes = {"crossing": 0, "none": 0}
    for case in range(1500):
        agreement = random_agreement(rng)
        facts, since = random_history(rng, agreement)
        expected = bisected(agreement, facts, NOW, since)
        due = next_rescore_at(agreement, facts, NOW, since)
        context = f"case {case}: {agreement.interest!r} {facts!r} since={since}"
        assert (due is None) == (expected is None), context
        if due is None or expected is None:
            outcomes["none"] += 1
            continue
        outcomes["crossing"] += 1
        current = interest_at(agreement, facts, NOW, since)
        level = max(t for t in thresholds(agreement) if t <= current)
        # Never before the crossing (below the level at `due`), at most 2 s after it, and
        # within the bisection's minute of its answer.
        assert interest_at(agreement, facts, due, since) < level, context
        before = max(due - 2 * SECOND, NOW)
        assert interest_at(agreement, facts, before, since) >= level, context
        assert expected - MINUTE <= due <= expected + SECOND, context
    assert min(outcomes.values()) > 300, outcomes  # both kinds of answer were tried, often


def test_no_threshold_below_means_no_rescore() -> None:
    assert next_rescore_at(agreement_with(), [did("page_view", 0)], NOW) is None
    assert next_rescore_at(agreement_with(), [], NOW) is None


def test_interest_that_stays_above_the_threshold_past_the_horizon_is_never_rescored() -> None:
    # 10^6 points need log2(10^6 / 35) ≈ 14.8 half-lives to fall below 35: past the 12 looked at.
    agreement = agreement_with(
        interest__points={"demo_request": 1e6}, interest__window_days=3650, interest__caps=NO_CAPS
    )
    facts = [did("demo_request", 0)]
    assert next_rescore_at(agreement, facts, NOW) is None
    assert bisected(agreement, facts, NOW, None) is None


def test_interest_exactly_at_a_threshold_is_rescored_as_soon_as_it_falls() -> None:
    agreement = agreement_with(
        interest__bands={"low": 0, "warm": 15, "hot": 40}, matrix__interest_threshold=40
    )
    facts = [did("demo_request", 0)]
    assert interest_at(agreement, facts, NOW) == 40
    due = next_rescore_at(agreement, facts, NOW)
    assert due is not None and NOW < due <= NOW + SECOND
    assert interest_at(agreement, facts, due) < 40


def test_a_binding_cap_counts_as_a_constant_until_the_crossing() -> None:
    # 20 page views (10 points after the cap) and a demo: 10 + 40·2^(-d/30) = 35 at
    # d = 30·log2(40/25), while the page views' 20·2^(-d/30) are still above their cap of 10.
    facts = [did("page_view", 0)] * 20 + [did("demo_request", 0)]
    assert interest_at(agreement_with(), facts, NOW) == 50
    due = next_rescore_at(agreement_with(), facts, NOW)
    crossing = NOW + timedelta(days=30 * math.log2(40 / 25))
    assert due is not None and abs(due - (crossing + SECOND)) < timedelta(milliseconds=1)


def test_the_end_of_the_window_is_a_crossing() -> None:
    # 40·2^(-9/30) ≈ 32.5 points (warm) from 9 days ago: the demo leaves a 10-day window
    # tomorrow, long before decay alone would take it below 15.
    agreement = agreement_with(interest__window_days=10)
    facts = [did("demo_request", 9)]
    assert next_rescore_at(agreement, facts, NOW) == NOW + timedelta(days=1) + SECOND


def test_activity_before_since_is_left_out() -> None:
    recycled_at = NOW - timedelta(days=5)
    recent, old = [did("demo_request", 1)], [did("contact_sales_request", 10)]
    due = next_rescore_at(agreement_with(), recent + old, NOW, since=recycled_at)
    assert due is not None and due == next_rescore_at(agreement_with(), recent, NOW)
    assert due != next_rescore_at(agreement_with(), recent + old, NOW)
    expected = bisected(agreement_with(), recent + old, NOW, recycled_at)
    assert expected is not None and expected - MINUTE <= due <= expected


def test_an_activity_dated_ahead_of_now_does_not_hide_the_first_crossing() -> None:
    # The demo today falls below 35 after 30·log2(40/35) days; the one dated 20 days ahead
    # (a clock running ahead) raises interest again only after that.
    facts = [did("demo_request", 0), did("demo_request", -20)]
    due = next_rescore_at(agreement_with(), facts, NOW)
    crossing = NOW + timedelta(days=30 * math.log2(40 / 35))
    assert due is not None and abs(due - (crossing + SECOND)) < timedelta(milliseconds=1)
    later = next_rescore_at(agreement_with(), facts, NOW + timedelta(days=20))
    assert later is not None and later > NOW + timedelta(days=20)
