"""Fit rules, negatives, grades, interest, caps, decay and the matrix, table by table."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from leadloop_contract.agreement import FitRule
from leadloop_scoring.domain.interest import decayed, interest_at, next_rescore_at
from leadloop_scoring.domain.rules import grade_of, matches, score

from .factories import AGREEMENT, NOW, agreement_with, did, person


@pytest.mark.parametrize(
    ("field", "op", "value", "profile", "expected"),
    [
        ("industry", "equals", "healthcare", {}, True),
        ("industry", "equals", "Software", {}, False),
        ("country", "one_of", ["de", "at"], {}, True),
        ("country", "one_of", ["US"], {}, False),
        ("company_size", "range", {"min": 50, "max": 5000}, {}, True),
        ("company_size", "range", {"min": 50}, {"company_size": 49}, False),
        ("company_size", "range", {"max": 10}, {"company_size": None}, False),
        ("job_title", "contains", "operations", {}, True),
        ("job_title", "regex", r"\b(vp|head)\b", {}, True),
        ("job_title", "regex", r"\bcfo\b", {}, False),
        ("email_domain", "email_domain_in", ["acme-dental.com"], {}, True),
        ("email_domain", "email_domain_in", ["dental.com"], {}, False),
        (
            "email_domain",
            "email_domain_in",
            ["acme-dental.com"],
            {"email": "bo@eu.acme-dental.com"},
            True,
        ),
        ("phone", "contains", "+49", {}, False),
    ],
)
def test_fit_operators(
    field: str, op: str, value: Any, profile: dict[str, Any], expected: bool
) -> None:
    rule = FitRule(id="r", field=field, op=op, value=value, points=10)  # type: ignore[arg-type]
    assert matches(rule, person(**profile)) is expected


@pytest.mark.parametrize(
    ("fit", "grade"),
    [(85, "A"), (60, "A"), (59, "B"), (40, "B"), (20, "C"), (19.9, "D"), (-100, "D")],
)
def test_grades_by_band(fit: float, grade: str) -> None:
    assert grade_of(AGREEMENT, fit) == grade


def test_breakdown_names_every_rule_that_moved_the_score() -> None:
    result = score(AGREEMENT, person(), [did("pricing_page_view", 1)], NOW)
    rules = {line.rule: line.points for line in result.breakdown}
    assert rules["fit:size-mid-market"] == 25
    assert rules["fit:senior-buyer"] == 20
    assert 7.5 < rules["interest:pricing_page_view"] < 8
    assert result.total == pytest.approx(sum(rules.values()), abs=0.02)
    assert (result.grade, result.quadrant) == ("A", "nurture")


@pytest.mark.parametrize(
    ("profile", "activities", "kind", "disqualified"),
    [
        ({"email": "spy@globex-ops.example"}, [], "competitor", "competitor"),
        ({"email": "ana.private@gmail.com"}, [], "free_mail", None),
        ({"job_title": "Student assistant"}, [], "student", "student"),
        ({"email": "kim@uni.edu"}, [], "student", "student"),
        ({"job_title": "Technical Recruiter"}, [], "excluded_title", None),
        ({}, [did("unsubscribe", 2)], "unsubscribe", None),
    ],
)
def test_negative_rules(
    profile: dict[str, Any], activities: list[Any], kind: str, disqualified: str | None
) -> None:
    result = score(AGREEMENT, person(**profile), activities, NOW)
    negative = [line for line in result.breakdown if line.kind == "negative"]
    assert [line.rule for line in negative] == [f"negative:{kind}"]
    assert negative[0].points < 0
    assert result.disqualified_by == disqualified
    if disqualified:
        assert result.quadrant == "not_handed_off"


@pytest.mark.parametrize(
    ("days_ago", "expected"),
    [(0, 40.0), (30, 20.0), (60, 10.0), (89, 40 * 0.5 ** (89 / 30)), (91, 0.0)],
)
def test_interest_decays_by_half_life_and_leaves_the_window(
    days_ago: float, expected: float
) -> None:
    assert interest_at(AGREEMENT, [did("demo_request", days_ago)], NOW) == pytest.approx(expected)


def test_caps_per_type_and_overall() -> None:
    views = [did("page_view", 0) for _ in range(50)]
    assert interest_at(AGREEMENT, views, NOW) == 10
    everything = [
        did(kind, 0)
        for kind in (
            "demo_request",
            "free_trial_signup",
            "contact_sales_request",
            "webinar_attended",
        )
    ]
    assert interest_at(AGREEMENT, everything, NOW) == 100
    result = score(AGREEMENT, person(), everything, NOW)
    assert any(line.rule == "interest:max" for line in result.breakdown)


@pytest.mark.parametrize(
    ("profile", "activities", "quadrant"),
    [
        ({}, [did("demo_request")], "sales_now"),
        (
            {},
            [
                did("webinar_attended"),
                did("pricing_page_view"),
                did("content_download"),
                did("content_download", 2),
                did("email_click"),
            ],
            "sales_now",
        ),
        ({}, [did("page_view")], "nurture"),
        (
            {"company_size": 3, "country": "BR", "industry": "Retail", "job_title": "Clerk"},
            [did("demo_request")],
            "not_handed_off",
        ),
    ],
)
def test_fit_interest_matrix(profile: dict[str, Any], activities: list[Any], quadrant: str) -> None:
    assert score(AGREEMENT, person(**profile), activities, NOW).quadrant == quadrant


def test_hand_raise_is_found_and_recycled_leads_count_only_new_interest() -> None:
    result = score(AGREEMENT, person(), [did("free_trial_signup", 3)], NOW)
    assert result.hand_raise == "free_trial_signup"
    later = score(
        AGREEMENT, person(), [did("free_trial_signup", 3)], NOW, since=NOW - timedelta(days=1)
    )
    assert later.hand_raise is None and later.interest == 0


def test_decay_schedules_the_next_rescore_at_the_crossing() -> None:
    facts = [did("demo_request", 0)]
    due = next_rescore_at(AGREEMENT, facts, NOW)
    assert due is not None
    # 40 points fall below the 35-point "hot"/engaged threshold after log2(40/35) half-lives.
    assert (
        interest_at(AGREEMENT, facts, due)
        < 35
        <= interest_at(AGREEMENT, facts, due - timedelta(minutes=2))
    )
    assert next_rescore_at(AGREEMENT, [], NOW) is None


def test_decayed_points() -> None:
    assert decayed(8, 30, 30) == 4
    assert decayed(8, -5, 30) == 8


def test_a_different_agreement_scores_differently() -> None:
    stricter = agreement_with(interest__half_life_days=7)
    assert interest_at(stricter, [did("demo_request", 7)], NOW) == pytest.approx(20)
