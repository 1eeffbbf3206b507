"""Examples feedback's OpenAPI document shows, in the shapes the reports answer (taken from a run
of the closed loop: ACME-DENTAL captured from the Q4 webinar, handed to rep-alice, won)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from leadloop_feedback.domain import reports

LEAD_ID = "3f2b8c1e-5d4a-4e7b-9c6f-0a1b2c3d4e5f"
PERIOD = {"start": "2026-09-01T00:00:00Z", "end": "2026-11-30T00:00:00Z"}
MONEY = {"currency": "EUR", "rates": {"USD": 0.92}}
FUNNEL: dict[str, Any] = {
    "period": PERIOD,
    "filters": {},
    "group_by": "source",
    "groups": [
        {
            "group": "webinar",
            "counts": {
                "lead": 420,
                "mql": 126,
                "sql": 48,
                "accepted": 41,
                "opportunity": 19,
                "customer": 6,
            },
            "conversion": {
                "lead_to_mql": 0.3,
                "mql_to_sql": 0.381,
                "sql_to_accepted": 0.854,
                "accepted_to_opportunity": 0.463,
                "opportunity_to_customer": 0.316,
            },
            "median_days_in_stage": {"lead": 3.5, "mql": 9.0, "sql": 0.2, "accepted": 6.0},
        }
    ],
}
LEAD_QUALITY: dict[str, Any] = {
    "period": PERIOD,
    "filters": {},
    "group_by": "source",
    "groups": [
        {
            "group": "webinar",
            "decided": 45,
            "accepted": 41,
            "rejected": 4,
            "acceptance_rate": 0.911,
            "rejection_rate": 0.089,
            "rejection_reasons": {"no_budget": 3, "student": 1},
        },
    ],
}
REVENUE: dict[str, Any] = {
    "period": PERIOD,
    "filters": {},
    "group_by": "campaign",
    "attribution": "linear",
    **MONEY,
    "unconverted": {},
    "groups": [
        {
            "group": "q4-webinar",
            "won_revenue": 144000.0,
            "pipeline": 310000.0,
            "won_deals": 6.0,
            "win_rate": 0.316,
            "average_deal_size": 24000.0,
            "spend": 12000.0,
            "cost_per_lead": 28.57,
            "cost_per_mql": 95.24,
            "cost_per_customer": 2000.0,
            "roi": 11.0,
            "unconverted": {},
        },
    ],
    "lifetime_value_by_source": {"webinar": 26400.0},
}
_SPEED = {
    "assigned": 48,
    "touched": 46,
    "p50_minutes": 12.0,
    "p90_minutes": 95.0,
    "pending": 2,
    "touched_within_sla": 0.917,
    "attempts": 61,
    "breaches": 3,
    "reassignments": 1,
}
SLA: dict[str, Any] = {
    "period": {"start": "2026-11-01T00:00:00Z", "end": "2026-12-01T00:00:00Z"},
    "filters": {},
    "marketing": {
        "mql": {
            "delivered": 126,
            "target": 400,
            "target_per_month": 400,
            "goal": 400,
            "projected": 390,
            "pacing": 0.975,
        },
        "sql": {
            "delivered": 48,
            "target": 120,
            "target_per_month": 120,
            "goal": 120,
            "projected": 149,
            "pacing": 1.24,
        },
    },
    "sales": {
        "first_touch_minutes": 60,
        "overall": {"group": "all", **_SPEED},
        "by": "rep_id",
        "groups": [{"group": "rep-alice", **_SPEED}],
        "distribution": [
            {"band": "< 5 min", "count": 9},
            {"band": "5–15 min", "count": 20},
            {"band": "15–30 min", "count": 8},
            {"band": "30–60 min", "count": 5},
            {"band": "1–4 h", "count": 3},
            {"band": "4–24 h", "count": 1},
            {"band": "> 1 day", "count": 0},
            {"band": "not touched", "count": 2},
        ],
    },
}
_SEGMENT = {
    "leads": 120,
    "customers": 5,
    "win_rate": 0.357,
    "lead_to_customer": 0.042,
    "won_revenue": 120000.0,
    "revenue_per_lead": 1000.0,
}
SCORE_CALIBRATION: dict[str, Any] = {
    "period": PERIOD,
    "filters": {},
    "matrix": [{"grade": "A", "interest_band": "hot", **_SEGMENT}],
    "thresholds": [
        {
            "threshold": 60.0,
            "above": _SEGMENT,
            "below": {
                "leads": 300,
                "customers": 1,
                "win_rate": 0.2,
                "lead_to_customer": 0.003,
                "won_revenue": 24000.0,
                "revenue_per_lead": 80.0,
            },
        },
    ],
    "best_separating_threshold": 60.0,
    **MONEY,
    "unconverted": {},
}
PLAN: dict[str, Any] = {
    **reports.plan(
        Decimal("480000"),
        average_deal_size=Decimal("24000"),
        rates={
            "opportunity_to_customer": 0.316,
            "sql_to_opportunity": 0.396,
            "mql_to_sql": 0.381,
            "lead_to_mql": 0.3,
        },
        months=12,
        run_rate_leads_per_month=140.0,
    ),
    **MONEY,
    "unconverted": {"won_revenue": {}},
}
JOURNEY: dict[str, Any] = {
    "lead_id": LEAD_ID,
    "events": [
        {
            "at": "2026-11-04T09:15:02Z",
            "type": "leadloop.lead.captured.v1",
            "summary": "Captured from a form (webinar, q4-webinar); a new lead.",
        },
        {
            "at": "2026-11-04T09:15:03Z",
            "type": "leadloop.lead.stage_changed.v1",
            "summary": "Stage lead → sql: grade A and a demo request.",
        },
        {
            "at": "2026-11-04T09:15:04Z",
            "type": "leadloop.lead.assigned.v1",
            "summary": "Handed off to Alice Berger (dach, new business); first touch due "
            "2026-11-04 10:15 UTC.",
        },
        {
            "at": "2026-11-04T10:02:00Z",
            "type": "leadloop.lead.touched.v1",
            "summary": "Alice Berger: call, connected.",
        },
        {
            "at": "2026-12-15T16:30:00Z",
            "type": "leadloop.deal.closed.v1",
            "summary": "Deal deal-acme-dental-2026 won: 24000 EUR.",
        },
    ],
}
CAMPAIGN_IN: dict[str, Any] = {"name": "Q4 webinar", "spend": "12000.00", "currency": "EUR"}
CAMPAIGN: dict[str, Any] = {
    "campaign_id": "q4-webinar",
    **CAMPAIGN_IN,
    "spend": 12000.0,
    "updated_at": "2026-11-02T10:00:00Z",
}
PANELS: dict[str, Any] = {
    "panels": {
        "kpis": '<h2>Last 30 days</h2>\n<div class="kpis">\n  <div class="kpi">'
        '<b data-metric="kpi.leads">420</b><span>new leads</span></div>\n</div>',
        "funnel": '<h2>Funnel · last 30 days</h2>\n<svg viewBox="0 0 480 210" role="img" '
        'aria-label="Funnel by stage" class="chart">…</svg>',
    },
    "updated": "09:15:00 UTC",
    "updated_at": "2026-11-16T09:15:00Z",
}
DASHBOARD = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>leadloop · one picture for sales and marketing</title></head>
<body>
<header><h1>leadloop</h1></header>
<main><div class="grid">
<section class="card" id="kpis"><h2>Last 30 days</h2>…</section>
</div></main>
</body>
</html>
"""
REVIEW_MARKDOWN = """# Weekly sales and marketing review

2026-11-22 09:00 to 2026-11-29 09:00 UTC

## 1. Results against the agreement

- Lead → MQL 30%, MQL → SQL 38%, SQL → accepted 85%, opportunity → customer 32%.

## 7. To decide

- Both sides kept the agreement: no decision is needed.
"""
REVIEW_HTML = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Weekly sales and marketing review</title></head>
<body><h1>Weekly sales and marketing review</h1><p>2026-11-22 09:00 to 2026-11-29 09:00 UTC</p>
</body>
</html>
"""
