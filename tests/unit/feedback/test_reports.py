"""Report arithmetic on hand-built histories with known answers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from leadloop_feedback.domain import reports, revenue, sla

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def lead(lead_id: str, source: str, campaigns: list[str], days: int = 0) -> dict[str, object]:
    return {
        "lead_id": lead_id,
        "source": source,
        "campaign": campaigns[0] if campaigns else None,
        "campaigns": campaigns,
        "first_seen_at": T0 + timedelta(days=days),
    }


def stage(lead_id: str, to: str, days: float) -> dict[str, object]:
    return {"lead_id": lead_id, "to_stage": to, "at": T0 + timedelta(days=days)}


LEADS = [
    lead("ACME-DENTAL", "webinar", ["q4-webinar", "pricing-retarget"]),
    lead("GLOBEX", "webinar", ["q4-webinar"]),
    lead("INITECH", "paid_search", ["brand-search"]),
    lead("UMBRELLA", "paid_search", ["brand-search", "q4-webinar"], days=31),
]
STAGES = [
    stage("ACME-DENTAL", "mql", 1),
    stage("ACME-DENTAL", "sql", 3),
    stage("ACME-DENTAL", "accepted", 4),
    stage("ACME-DENTAL", "opportunity", 10),
    stage("ACME-DENTAL", "customer", 40),
    stage("GLOBEX", "mql", 2),
    stage("INITECH", "sql", 1),  # a hand-raise skipped mql
]


def test_funnel_counts_conversion_and_median_days() -> None:
    [everything] = reports.funnel(LEADS, STAGES, by="all")
    assert everything["counts"] == {
        "lead": 4,
        "mql": 3,
        "sql": 2,
        "accepted": 1,
        "opportunity": 1,
        "customer": 1,
    }
    assert everything["conversion"]["lead_to_mql"] == 0.75
    assert everything["conversion"]["mql_to_sql"] == pytest.approx(0.6667, abs=1e-4)
    assert everything["median_days_in_stage"]["lead"] == 1.5  # ACME 1 day, GLOBEX 2 days
    assert everything["median_days_in_stage"]["opportunity"] == 30


def test_funnel_by_source_and_monthly_cohort() -> None:
    by_source = {g["group"]: g["counts"] for g in reports.funnel(LEADS, STAGES, by="source")}
    assert by_source["paid_search"]["sql"] == 1 and by_source["webinar"]["customer"] == 1
    cohorts = [g["group"] for g in reports.funnel(LEADS, STAGES, by="cohort")]
    assert cohorts == ["2026-11", "2026-12"]


def test_lead_quality_rates_and_reasons() -> None:
    statuses = [
        {"lead_id": "ACME-DENTAL", "status": "accepted", "changed_at": T0},
        {"lead_id": "INITECH", "status": "rejected", "reason_code": "bad_fit", "changed_at": T0},
        {"lead_id": "UMBRELLA", "status": "working", "changed_at": T0},
        {
            "lead_id": "GLOBEX",
            "status": "unqualified",
            "reason_code": "no_budget",
            "changed_at": T0,
        },
    ]
    rows = {r["group"]: r for r in reports.lead_quality(LEADS, statuses, by="source")}
    assert rows["webinar"]["acceptance_rate"] == 0.5
    assert rows["webinar"]["rejection_reasons"] == {"no_budget": 1}
    assert rows["paid_search"]["rejected"] == 1 and rows["paid_search"]["accepted"] == 1


DEALS = [
    {
        "deal_id": "D1",
        "lead_id": "ACME-DENTAL",
        "stage": "created",
        "amount": "30000",
        "currency": "EUR",
        "closed_at": T0,
        "recurring": True,
    },
    {
        "deal_id": "D1",
        "lead_id": "ACME-DENTAL",
        "stage": "won",
        "amount": "24000",
        "currency": "EUR",
        "closed_at": T0 + timedelta(days=30),
        "recurring": True,
    },
    {
        "deal_id": "D2",
        "lead_id": "UMBRELLA",
        "stage": "created",
        "amount": "10000",
        "currency": "EUR",
        "closed_at": T0,
        "recurring": False,
    },
    {
        "deal_id": "D3",
        "lead_id": "GLOBEX",
        "stage": "lost",
        "amount": "5000",
        "currency": "EUR",
        "closed_at": T0,
        "recurring": False,
    },
]


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        ("first_touch", {"q4-webinar": 24000.0}),
        ("last_touch", {"pricing-retarget": 24000.0}),
        ("linear", {"q4-webinar": 12000.0, "pricing-retarget": 12000.0}),
    ],
)
def test_attribution_models_split_won_revenue(model: str, expected: dict[str, float]) -> None:
    rows = revenue.revenue(LEADS, DEALS, by="campaign", model=model)
    won = {r["group"]: r["won_revenue"] for r in rows if r["won_revenue"]}
    assert won == expected


def test_revenue_by_source_win_rate_pipeline_cost_and_roi() -> None:
    rows = {r["group"]: r for r in revenue.revenue(LEADS, DEALS, by="source")}
    webinar = rows["webinar"]
    assert webinar["won_revenue"] == 24000 and webinar["win_rate"] == 0.5
    assert webinar["average_deal_size"] == 24000
    assert rows["paid_search"]["pipeline"] == 10000
    costed = {
        r["group"]: r
        for r in revenue.revenue(
            LEADS,
            DEALS,
            by="campaign",
            model="first_touch",
            spend={"q4-webinar": Decimal(8000)},
            stage_counts={"q4-webinar": {"lead": 2, "mql": 2, "customer": 1}},
        )
    }
    assert costed["q4-webinar"]["cost_per_lead"] == 4000
    assert costed["q4-webinar"]["cost_per_customer"] == 8000
    assert costed["q4-webinar"]["roi"] == 2.0  # (24,000 − 8,000) / 8,000


def test_a_deal_won_at_the_moment_it_was_created_counts_as_won() -> None:
    same_time = [
        {"deal_id": "D9", "lead_id": "GLOBEX", "stage": "won", "amount": "100", "closed_at": T0},
        {"deal_id": "D9", "lead_id": "GLOBEX", "stage": "created", "amount": "90", "closed_at": T0},
    ]
    assert revenue.latest_deals(same_time)["D9"]["stage"] == "won"


def test_lifetime_value_of_recurring_deals() -> None:
    assert revenue.lifetime_value(LEADS, DEALS, years=1) == {"webinar": 24000.0}


def test_speed_to_lead_percentiles_and_sla_share() -> None:
    def assignment(lead_id: str, rep: str) -> dict[str, object]:
        return {
            "lead_id": lead_id,
            "rep_id": rep,
            "team": "dach",
            "assigned_at": T0,
            "sla_deadline": T0 + timedelta(minutes=30),
            "breaches": 0,
            "reassignments": 0,
        }

    assignments = [
        assignment("ACME-DENTAL", "rep-alice"),
        assignment("GLOBEX", "rep-alice"),
        assignment("INITECH", "rep-bob"),
    ]
    touches = [
        {"lead_id": "ACME-DENTAL", "touched_at": T0 + timedelta(minutes=10)},
        {"lead_id": "ACME-DENTAL", "touched_at": T0 + timedelta(minutes=50)},
        {"lead_id": "GLOBEX", "touched_at": T0 + timedelta(minutes=40)},
        {"lead_id": "INITECH", "touched_at": T0 - timedelta(minutes=5)},  # before: not a follow-up
    ]
    rows = {r["group"]: r for r in sla.speed_to_lead(assignments, touches)}
    alice = rows["rep-alice"]
    assert (alice["p50_minutes"], alice["p90_minutes"]) == (25.0, 37.0)
    assert alice["touched_within_sla"] == 0.5 and alice["attempts"] == 3
    assert rows["rep-bob"]["touched"] == 0 and rows["rep-bob"]["p50_minutes"] is None


def test_a_handoff_with_time_left_is_pending_not_missed() -> None:
    fresh = {
        "lead_id": "HOOLI",
        "rep_id": "rep-alice",
        "assigned_at": T0,
        "sla_deadline": T0 + timedelta(minutes=30),
    }
    touched = {**fresh, "lead_id": "PIED-PIPER"}
    touches = [{"lead_id": "PIED-PIPER", "touched_at": T0 + timedelta(minutes=5)}]
    early = sla.speed_to_lead([fresh, touched], touches, as_of=T0 + timedelta(minutes=10))
    assert (early[0]["pending"], early[0]["touched_within_sla"]) == (1, 1.0)
    late = sla.speed_to_lead([fresh, touched], touches, as_of=T0 + timedelta(minutes=31))
    assert (late[0]["pending"], late[0]["touched_within_sla"]) == (0, 0.5)


def test_percentile_pacing_and_plan() -> None:
    assert reports.percentile([1, 2, 3, 4], 0.5) == 2.5
    assert reports.percentile([], 0.9) is None
    pace = sla.pacing(120, 400, elapsed_days=10, period_days=30)
    assert pace["projected"] == 360 and pace["pacing"] == 0.9
    assert pace["summary"] == "at today's rate you will reach 90% of the target"
    result = reports.plan(
        Decimal(1_200_000),
        average_deal_size=Decimal(24000),
        rates={
            "opportunity_to_customer": 0.25,
            "sql_to_opportunity": 0.5,
            "mql_to_sql": 0.4,
            "lead_to_mql": 0.2,
        },
        months=12,
        run_rate_leads_per_month=500,
    )
    assert result["needed"] == {
        "customer": 50,
        "opportunity": 200,
        "sql": 400,
        "mql": 1000,
        "lead": 5000,
    }
    assert result["per_month"]["lead"] == 417 and result["lead_gap_per_month"] == -83
    with pytest.raises(ValueError, match="mql to sql"):
        reports.plan(
            Decimal(1),
            average_deal_size=Decimal(1),
            months=1,
            run_rate_leads_per_month=0,
            rates={"opportunity_to_customer": 1, "sql_to_opportunity": 1},
        )


def test_score_calibration_by_grade_band_and_threshold() -> None:
    scored = [
        {**LEADS[0], "grade": "A", "interest_band": "hot", "fit": 80, "interest": 40},
        {**LEADS[1], "grade": "A", "interest_band": "warm", "fit": 70, "interest": 20},
        {**LEADS[2], "grade": "C", "interest_band": "low", "fit": 25, "interest": 5},
        {**LEADS[3], "grade": "B", "interest_band": "hot", "fit": 45, "interest": 40},
    ]
    result = revenue.score_calibration(scored, DEALS, thresholds=[50, 100])
    cell = next(c for c in result["matrix"] if (c["grade"], c["interest_band"]) == ("A", "hot"))
    assert (cell["customers"], cell["won_revenue"], cell["lead_to_customer"]) == (1, 24000.0, 1.0)
    cut = {c["threshold"]: c for c in result["thresholds"]}
    assert cut[100]["above"]["leads"] == 1 and cut[100]["above"]["lead_to_customer"] == 1.0
    assert cut[50]["below"]["leads"] == 1
    assert result["best_separating_threshold"] == 100
