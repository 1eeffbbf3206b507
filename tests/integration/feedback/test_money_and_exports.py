"""Currencies and exports on the real broker and Postgres: yen and euros never summed raw,
unknown currencies refused at the edge, formula-like names inert in every CSV report."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx

from leadloop_events import topics
from leadloop_events.feedback import DealClosed
from leadloop_events.handoff import LeadAssigned
from leadloop_events.intake import LeadCaptured
from leadloop_events.lifecycle import LeadIntelligence, LeadStageChanged
from leadloop_platform.settings import CommonSettings

from ...waiting import wait_for
from .support import PROFILE, send

NOW = datetime.now(UTC)
INTEL = LeadIntelligence(profile=PROFILE, fit=80, interest=40, grade="A")


def captured(lead_id: str, campaign: str, source: str = "event") -> LeadCaptured:
    return LeadCaptured(
        lead_id=lead_id,
        submission_id=f"s-{lead_id}",
        is_new_lead=True,
        channel="form",
        profile=PROFILE,
        source=source,
        campaign=campaign,
        submitted_at=NOW - timedelta(days=2),
    )


def won(lead_id: str, amount: str, currency: str) -> DealClosed:
    return DealClosed(
        lead_id=lead_id,
        crm_event_id=f"d-{lead_id}",
        deal_id=f"D-{lead_id}",
        stage="won",
        amount=Decimal(amount),
        currency=currency,
        closed_at=NOW - timedelta(days=1),
    )


async def test_yen_and_euros_are_never_summed_raw(
    feedback: httpx.AsyncClient, settings: CommonSettings
) -> None:
    await send(
        settings,
        topics.INTAKE,
        captured("lead-TOKYO-DENTAL", "expo"),
        captured("lead-ACME-DENTAL", "expo"),
        captured("lead-GLOBEX", "expo"),
    )
    await send(
        settings,
        topics.FEEDBACK,
        won("lead-TOKYO-DENTAL", "5000000", "JPY"),
        won("lead-ACME-DENTAL", "1000", "EUR"),
        won("lead-GLOBEX", "1000", "USD"),
    )
    spend = await feedback.put(
        "/v1/campaigns/expo", json={"name": "Expo", "spend": "800000", "currency": "JPY"}
    )
    assert spend.status_code == 200, spend.text

    async def three_deals() -> bool:
        body = (await feedback.get("/v1/reports/revenue?group_by=source")).json()
        return bool(body["groups"]) and body["groups"][0]["won_deals"] == 3

    await wait_for(three_deals, timeout_s=30, what="the three won deals")
    body = (await feedback.get("/v1/reports/revenue?group_by=source")).json()
    assert body["currency"] == "EUR" and body["rates"] == {"USD": 0.92}
    [event] = body["groups"]
    assert event["won_revenue"] == 1920.0  # 1,000 EUR + 1,000 USD × 0.92; never 5,002,000
    assert event["unconverted"] == {"won_revenue": {"JPY": 5_000_000.0}}
    assert body["unconverted"] == {"won_revenue": {"JPY": 5_000_000.0}}

    by_campaign = (await feedback.get("/v1/reports/revenue")).json()
    [expo] = by_campaign["groups"]
    assert expo["unconverted"]["spend"] == {"JPY": 800_000.0} and "roi" not in expo
    assert by_campaign["unconverted"]["spend"] == {"JPY": 800_000.0}

    review = (await feedback.get("/v1/reviews/weekly?format=markdown")).text
    assert "- Won 1,920 EUR from 3 deals" in review
    assert "won revenue 5,000,000 JPY" in review and "5,001" not in review

    page = (await feedback.get("/dashboard")).text
    assert 'data-metric="kpi.won">1,920<' in page and "won revenue (EUR)" in page
    assert "won revenue 5,000,000 JPY" in page

    calibration = (await feedback.get("/v1/reports/score-calibration")).json()
    assert sum(cell["won_revenue"] for cell in calibration["matrix"]) == 1920.0


async def test_an_unknown_currency_is_refused_naming_the_field(
    feedback: httpx.AsyncClient,
) -> None:
    campaign = await feedback.put(
        "/v1/campaigns/expo", json={"name": "Expo", "spend": "10", "currency": "ZZZ"}
    )
    assert campaign.status_code == 422
    assert [e["field"] for e in campaign.json()["errors"]] == ["currency"]
    deal = {
        "crm_event_id": "d-zzz",
        "lead_id": "lead-ACME-DENTAL",
        "deal_id": "D-ZZZ",
        "stage": "won",
        "amount": "10",
        "currency": "ZZZ",
        "closed_at": NOW.isoformat(),
    }
    refused = await feedback.post("/v1/crm/deals", json=deal)
    assert refused.status_code == 422
    assert [e["pointer"] for e in refused.json()["errors"]] == ["/items/0/currency"]


FORMULAS = ['=HYPERLINK("http://evil.example","x")', "+1+1", "-2+3", "@SUM(A1)", "\tTAB", "\rCR"]
DANGEROUS = ("=", "+", "-", "@", "\t", "\r")


async def test_formula_names_are_inert_in_every_csv_report(
    feedback: httpx.AsyncClient, settings: CommonSettings
) -> None:
    leads = [f"lead-{i}" for i in range(len(FORMULAS))]
    await send(
        settings,
        topics.INTAKE,
        *(captured(lead, name, source=name) for lead, name in zip(leads, FORMULAS, strict=True)),
    )
    await send(
        settings,
        topics.LIFECYCLE,
        *(
            LeadStageChanged(
                lead_id=lead,
                from_stage="lead",
                to_stage="sql",
                reason="score",  # type: ignore[arg-type]
                agreement_version="2026-11",
                changed_at=NOW - timedelta(hours=2),
                intelligence=INTEL,
            )
            for lead in leads
        ),
    )
    await send(
        settings,
        topics.HANDOFF,
        *(
            LeadAssigned(
                lead_id=lead,
                assignment_id=f"a-{lead}",
                owner_rep_id=name,
                team=name,
                business="new",
                sla_deadline=NOW,
                agreement_version="2026-11",
                intelligence=INTEL,
                assigned_at=NOW - timedelta(hours=1),
            )
            for lead, name in zip(leads, FORMULAS, strict=True)
        ),
    )
    await send(settings, topics.FEEDBACK, *(won(lead, "100", "EUR") for lead in leads))

    async def loaded() -> bool:
        sla = (await feedback.get("/v1/reports/sla")).json()
        revenue = (await feedback.get("/v1/reports/revenue")).json()
        return len(sla["sales"]["groups"]) == len(FORMULAS) and len(revenue["groups"]) == len(
            FORMULAS
        )

    await wait_for(loaded, timeout_s=30, what="the hostile names in the read model")
    reports = [
        "/v1/reports/funnel?group_by=campaign",
        "/v1/reports/funnel?group_by=source",
        "/v1/reports/lead-quality?group_by=campaign",
        "/v1/reports/revenue?group_by=campaign",
        "/v1/reports/revenue?group_by=source",
        "/v1/reports/sla",
        "/v1/reports/sla?by=team",
        "/v1/reports/score-calibration",
    ]
    seen_quoted = 0
    for url in reports:
        resp = await feedback.get(url + "&format=csv" if "?" in url else url + "?format=csv")
        assert resp.status_code == 200, (url, resp.text)
        for row in csv.reader(io.StringIO(resp.text)):
            for cell in row:
                assert not cell.startswith(DANGEROUS) or _is_number(cell), (url, cell)
                seen_quoted += cell.startswith("'")
    assert seen_quoted >= 6 * len(FORMULAS)  # every hostile name, in each report that shows it


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True
