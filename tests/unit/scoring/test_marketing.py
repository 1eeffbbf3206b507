"""Marketing's side of the lifecycle, decided by scoring from the score; and no sequence of
scores and CRM statuses makes a move the lifecycle does not allow."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leadloop_contract.lifecycle import (
    SALES_TARGETS,
    Refused,
    Transition,
    is_legal,
    sales_transition,
)
from leadloop_contract.values import STAGES, Stage
from leadloop_scoring.domain.interest import ActivityFact, interest_at
from leadloop_scoring.domain.marketing import marketing_transition
from leadloop_scoring.domain.rules import score

from .factories import AGREEMENT, NOW, did, person


@pytest.mark.parametrize(
    ("stage", "profile", "activities", "to"),
    [
        ("lead", {}, [], "mql"),
        ("lead", {}, [did("demo_request")], "sql"),
        ("mql", {}, [did("contact_sales_request")], "sql"),
        ("mql", {}, [did("page_view")], None),
        ("lead", {"email": "spy@globex-ops.example"}, [did("demo_request")], "disqualified"),
        (
            "lead",
            {"company_size": 3, "country": "BR", "industry": "Retail", "job_title": "Clerk"},
            [did("page_view")],
            None,
        ),
        (
            "lead",
            {"country": "BR", "industry": "Retail", "job_title": "Analyst"},
            [did("demo_request")],
            None,
        ),
        ("sql", {}, [did("demo_request")], None),
        ("accepted", {"email": "spy@globex-ops.example"}, [], None),
    ],
)
def test_marketing_transitions(
    stage: Stage, profile: dict[str, Any], activities: list[ActivityFact], to: str | None
) -> None:
    result = score(AGREEMENT, person(**profile), activities, NOW)
    move = marketing_transition(AGREEMENT, stage, result, now=NOW)
    assert (move.to_stage if move else None) == to
    if move:
        assert is_legal(move.from_stage, move.to_stage) and move.reason


def test_a_recycled_lead_requalifies_only_with_new_interest_after_the_cool_off() -> None:
    recycled_at = NOW - timedelta(days=20)
    old = [did("webinar_attended", 25), did("content_download", 25)]
    stale = score(AGREEMENT, person(), old, NOW, since=recycled_at)
    assert (
        marketing_transition(AGREEMENT, "recycled", stale, recycled_at=recycled_at, now=NOW) is None
    )
    fresh = [*old, did("webinar_attended", 2), did("content_download", 1), did("email_click", 1)]
    new = score(AGREEMENT, person(), fresh, NOW, since=recycled_at)
    move = marketing_transition(AGREEMENT, "recycled", new, recycled_at=recycled_at, now=NOW)
    assert move is not None and move.to_stage == "mql"
    too_soon = NOW - timedelta(days=3)
    early = score(AGREEMENT, person(), fresh, NOW, since=too_soon)
    assert marketing_transition(AGREEMENT, "recycled", early, recycled_at=too_soon, now=NOW) is None


activity = st.sampled_from(
    [
        "page_view",
        "pricing_page_view",
        "email_click",
        "content_download",
        "webinar_attended",
        "demo_request",
        "free_trial_signup",
    ]
)
facts = st.lists(st.tuples(activity, st.floats(0, 120)), max_size=12).map(
    lambda items: [did(kind, days) for kind, days in items]
)
profiles = st.fixed_dictionaries(
    {
        "company_size": st.one_of(st.none(), st.integers(0, 20_000)),
        "country": st.sampled_from(["DE", "SE", "US", "BR", "JP"]),
        "job_title": st.sampled_from(["Head of Operations", "Student", "Analyst", "VP Sales", ""]),
        "email": st.sampled_from(["ana@acme-dental.com", "x@globex-ops.example", "y@gmail.com"]),
    }
)


@settings(max_examples=150, deadline=None)
@given(profile=profiles, history=facts, extra=activity, age=st.floats(0, 120))
def test_more_interest_never_lowers_the_score(
    profile: dict[str, Any], history: list[ActivityFact], extra: str, age: float
) -> None:
    before = score(AGREEMENT, person(**profile), history, NOW)
    after = score(AGREEMENT, person(**profile), [*history, did(extra, age)], NOW)
    assert after.interest >= before.interest
    assert after.total >= before.total


@settings(max_examples=150, deadline=None)
@given(history=facts, days=st.floats(0, 400))
def test_decay_never_goes_below_zero_and_never_rises(
    history: list[ActivityFact], days: float
) -> None:
    now_value = interest_at(AGREEMENT, history, NOW)
    later = interest_at(AGREEMENT, history, NOW + timedelta(days=days))
    assert 0 <= later <= now_value + 1e-9


inputs = st.lists(
    st.one_of(
        st.tuples(st.just("activity"), activity),
        st.tuples(st.just("crm"), st.sampled_from(sorted(SALES_TARGETS))),
    ),
    max_size=25,
)


@settings(max_examples=200, deadline=None)
@given(profile=profiles, steps=inputs)
def test_no_sequence_of_events_makes_an_illegal_move(
    profile: dict[str, Any], steps: list[tuple[str, str]]
) -> None:
    stage: Stage = "lead"
    history: list[ActivityFact] = []
    recycled_at = None
    for kind, value in steps:
        if kind == "activity":
            history.append(did(value))
            result = score(
                AGREEMENT,
                person(**profile),
                history,
                NOW,
                since=recycled_at if stage == "recycled" else None,
            )
            move: Transition | Refused | None = marketing_transition(
                AGREEMENT, stage, result, recycled_at=recycled_at, now=NOW
            )
        else:
            move = sales_transition(stage, value)
        if isinstance(move, Transition):
            assert is_legal(move.from_stage, move.to_stage), move
            assert move.from_stage == stage
            stage = move.to_stage
            if stage == "recycled":
                recycled_at = NOW - timedelta(days=30)
    assert stage in STAGES
