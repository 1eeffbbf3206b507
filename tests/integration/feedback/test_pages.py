"""The review agendas, the dashboard (sign-in, panels, live refresh) and report filters, on the
real broker and Postgres."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx
import pytest

from leadloop_contract.agreement import EXAMPLE_FILE, checksum, load_agreement
from leadloop_events import topics
from leadloop_events.agreement import AgreementPublished
from leadloop_events.envelope import new_event
from leadloop_events.feedback import DealClosed, LeadStatusChanged, LeadTouched
from leadloop_events.handoff import LeadAssigned, SlaBreached
from leadloop_events.intake import LeadCaptured
from leadloop_events.lifecycle import LeadIntelligence, LeadStageChanged
from leadloop_platform.settings import CommonSettings

from ...waiting import wait_for
from ..messaging.support import produce
from .support import KEY, PROFILE, send

NOW = datetime.now(UTC)
INTEL = LeadIntelligence(profile=PROFILE, fit=80, interest=40, grade="A")


def history(lead: str, source: str, campaign: str, hours_ago: float) -> dict[str, list[object]]:
    """One lead's events, by topic: captured, MQL and SQL, assigned to rep-alice (dach)."""
    t = NOW - timedelta(hours=hours_ago)
    return {
        topics.INTAKE: [
            LeadCaptured(
                lead_id=lead,
                submission_id=f"s-{lead}",
                is_new_lead=True,
                channel="form",
                profile=PROFILE,
                source=source,
                campaign=campaign,
                submitted_at=t,
            )
        ],
        topics.LIFECYCLE: [
            LeadStageChanged(
                lead_id=lead,
                from_stage="lead",
                to_stage="mql",
                reason="score",  # type: ignore[arg-type]
                agreement_version="2026-11",
                changed_at=t + timedelta(minutes=1),
            ),
            LeadStageChanged(
                lead_id=lead,
                from_stage="mql",
                to_stage="sql",
                reason="score",  # type: ignore[arg-type]
                agreement_version="2026-11",
                changed_at=t + timedelta(minutes=2),
                intelligence=INTEL,
            ),
        ],
        topics.HANDOFF: [
            LeadAssigned(
                lead_id=lead,
                assignment_id=f"a-{lead}",
                owner_rep_id="rep-alice",
                team="dach",
                business="new",
                sla_deadline=t + timedelta(minutes=32),
                agreement_version="2026-11",
                intelligence=INTEL,
                assigned_at=t + timedelta(minutes=2),
            )
        ],
    }


async def load(settings: CommonSettings, *histories: dict[str, list[object]]) -> None:
    for topic in (topics.INTAKE, topics.LIFECYCLE, topics.HANDOFF, topics.FEEDBACK):
        items = [item for h in histories for item in h.get(topic, [])]
        if items:
            await send(settings, topic, *items)  # type: ignore[arg-type]


async def settle(feedback: httpx.AsyncClient, stage: str, count: int) -> None:
    async def done() -> bool:
        body = (await feedback.get("/v1/reports/funnel")).json()
        return bool(body["groups"]) and body["groups"][0]["counts"][stage] == count

    await wait_for(done, timeout_s=30, what=f"{count} leads at {stage}")


@pytest.fixture
async def two_weeks(feedback: httpx.AsyncClient, settings: CommonSettings) -> None:
    """This week: two webinar leads (one touched in 10 minutes, accepted and won; one
    rejected as a bad fit, with a breach). Last week: one search lead, touched late."""
    won = history("lead-won", "webinar", "q4-webinar", 30)
    won[topics.FEEDBACK] = [
        LeadTouched(
            lead_id="lead-won",
            crm_event_id="t-won",
            rep_id="rep-alice",
            channel="call",
            outcome="connected",
            touched_at=NOW - timedelta(hours=30) + timedelta(minutes=12),
        ),
        LeadStatusChanged(
            lead_id="lead-won",
            crm_event_id="st-won",
            status="accepted",
            changed_at=NOW - timedelta(hours=29),
        ),
        DealClosed(
            lead_id="lead-won",
            crm_event_id="d-won",
            deal_id="D-1",
            stage="won",
            amount=Decimal("24000"),
            currency="EUR",
            closed_at=NOW - timedelta(hours=5),
        ),
    ]
    rejected = history("lead-rejected", "webinar", "q4-webinar", 20)
    rejected[topics.HANDOFF].append(
        SlaBreached(
            lead_id="lead-rejected",
            assignment_id="a-lead-rejected",
            rep_id="rep-alice",
            team="dach",
            deadline=NOW - timedelta(hours=20) + timedelta(minutes=32),
            breached_at=NOW - timedelta(hours=20) + timedelta(minutes=33),
            step="warn",
        )
    )
    rejected[topics.FEEDBACK] = [
        LeadStatusChanged(
            lead_id="lead-rejected",
            crm_event_id="st-rej",
            status="rejected",
            reason_code="bad_fit",
            changed_at=NOW - timedelta(hours=18),
        )
    ]
    last_week = history("lead-old", "paid_search", "brand-search", 24 * 9)
    last_week[topics.FEEDBACK] = [
        LeadTouched(
            lead_id="lead-old",
            crm_event_id="t-old",
            rep_id="rep-alice",
            channel="email",
            outcome="attempted",
            touched_at=NOW - timedelta(hours=24 * 9) + timedelta(minutes=90),
        )
    ]
    await load(settings, won, rejected, last_week)
    await settle(feedback, "sql", 3)

    async def deal_in() -> bool:
        body = (await feedback.get("/v1/reports/revenue?group_by=source")).json()
        return any(g["won_revenue"] for g in body["groups"])

    await wait_for(deal_in, timeout_s=30, what="the won deal")


async def test_weekly_review_in_markdown_and_html(
    feedback: httpx.AsyncClient, two_weeks: None
) -> None:
    md = await feedback.get("/v1/reviews/weekly", params={"format": "markdown"})
    assert md.status_code == 200 and md.headers["content-type"].startswith("text/markdown")
    text = md.text
    assert text.startswith("# Weekly sales and marketing review")
    sections = re.findall(r"^## \d+\. (.+)$", text, flags=re.M)
    assert sections == [
        "Results against the agreement",
        "SLA, marketing's side: volume delivered",
        "SLA, sales' side: speed to lead",
        "Lead quality: what sales said",
        "Revenue by campaign",
        "What changed since last time",
        "To decide",
    ]
    # this week against the week before: 2 SQLs now, 1 then
    assert "| SQL | 2 | 1 | +100% |" in text
    assert "| won revenue \\(EUR\\) | 24,000 | 0 | new |" in text
    assert "bad fit \\(1\\)" in text
    # rep-alice: one of two hand-offs touched (in 10 minutes), one breach
    assert "| rep-alice | 2 | 1 | 10 min | 10 min | 50% | 1 |" in text
    assert "rep-alice touched 50% of hand-offs within the SLA" in text
    assert "Median speed to lead: 88 min → 10 min." in text

    by_accept = await feedback.get("/v1/reviews/weekly", headers={"accept": "text/markdown"})
    assert by_accept.text == text

    html = await feedback.get("/v1/reviews/weekly")
    assert html.headers["content-type"].startswith("text/html")
    assert "<h2>1. Results against the agreement</h2>" in html.text
    assert "<td>rep-alice</td>" in html.text


async def publish_example_agreement(settings: CommonSettings) -> None:
    """The example agreement (400 MQLs and 120 SQLs a month) onto the lifecycle topic."""
    agreement = load_agreement(EXAMPLE_FILE.read_text())
    data = AgreementPublished(
        version=agreement.version,
        published_at=NOW - timedelta(days=40),
        checksum=checksum(agreement),
        document=agreement,
    )
    event = new_event(data, subject=agreement.version)
    record = (agreement.version.encode(), event.to_bytes())
    await produce(settings.kafka_bootstrap_servers, settings.topic(topics.LIFECYCLE), [record])


async def test_the_review_counts_mqls_once_and_shows_the_target_as_written(
    feedback: httpx.AsyncClient, settings: CommonSettings, two_weeks: None
) -> None:
    # a lead scored straight to SQL passed through MQL: the funnel counted it, the SLA did not
    direct = history("lead-direct", "webinar", "q4-webinar", 10)
    direct[topics.LIFECYCLE] = [
        LeadStageChanged(
            lead_id="lead-direct",
            from_stage="lead",
            to_stage="sql",
            reason="score",  # type: ignore[arg-type]
            agreement_version="2026-11",
            changed_at=NOW - timedelta(hours=10) + timedelta(minutes=1),
            intelligence=INTEL,
        )
    ]
    await publish_example_agreement(settings)
    await load(settings, direct)
    await settle(feedback, "sql", 4)

    async def agreed() -> bool:
        body = (await feedback.get("/v1/reports/sla")).json()
        return body["marketing"]["mql"]["target"] is not None

    await wait_for(agreed, timeout_s=30, what="the agreement's targets")
    text = (await feedback.get("/v1/reviews/weekly?format=markdown")).text
    assert "| MQL | 3 | 1 | +200% |" in text
    prorated = round(400 * 7 / 30.4375)
    assert (
        f"MQLs: 3 delivered against a target of 400 per month; {prorated} prorated to this "
        "period:" in text
    )
    assert "SQLs: 3 delivered against a target of 120 per month;" in text
    html = (await feedback.get("/v1/reviews/weekly")).text
    assert f"400 per month; {prorated} prorated to this period" in html
    dashboard = (await feedback.get("/dashboard/panels")).json()["panels"]["sla"]
    assert "target 400 per month; " in dashboard and "prorated to this period" in dashboard


async def test_monthly_review_counts_the_thirty_days(
    feedback: httpx.AsyncClient, two_weeks: None
) -> None:
    text = (await feedback.get("/v1/reviews/monthly?format=markdown")).text
    assert text.startswith("# Monthly sales and marketing review")
    assert "| SQL | 3 | 0 | new |" in text


async def test_reviews_need_reports_read(feedback: httpx.AsyncClient) -> None:
    resp = await feedback.get("/v1/reviews/weekly", headers={"authorization": ""})
    assert resp.status_code == 401
    assert resp.headers["content-type"] == "application/problem+json"
    unknown = await feedback.get("/v1/reviews/yearly")
    assert unknown.status_code == 422


def metric(page: str, name: str) -> str:
    found = re.search(rf'data-metric="{re.escape(name)}"[^>]*>([^<]*)<', page)
    assert found, f"no {name} on the page"
    return found.group(1)


async def test_dashboard_sign_in_panels_and_live_refresh(
    feedback: httpx.AsyncClient, settings: CommonSettings, two_weeks: None
) -> None:
    anonymous = httpx.AsyncClient(transport=feedback._transport, base_url="http://feedback")
    async with anonymous:
        page = await anonymous.get("/dashboard")
        assert page.status_code == 401 and 'name="api_key"' in page.text
        refused = await anonymous.post("/dashboard/session", data={"api_key": "llk_wrong"})
        assert refused.status_code == 401 and "unknown, revoked" in refused.text
        signed = await anonymous.post(
            "/dashboard/session", data={"api_key": KEY, "next": "/dashboard"}
        )
        assert signed.status_code == 303 and signed.headers["location"] == "/dashboard"
        cookie = signed.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie
        page = await anonymous.get("/dashboard")
        assert page.status_code == 200
        assert "script-src 'nonce-" in page.headers["content-security-policy"]
        assert "http://" not in page.text.replace('xmlns="http://www.w3.org/2000/svg"', "")
        # the cookie reads; it never writes
        write = await anonymous.post("/v1/crm/touches", json={})
        assert write.status_code == 401

    body = page.text
    funnel = (
        await feedback.get(
            "/v1/reports/funnel", params={"from": (NOW - timedelta(days=30)).isoformat()}
        )
    ).json()
    counts = funnel["groups"][0]["counts"]
    for stage in ("lead", "mql", "sql", "accepted", "customer"):
        assert metric(body, f"funnel.{stage}") == str(counts[stage])
    assert metric(body, "kpi.won") == "24,000"
    assert metric(body, "mql.source.webinar") == "2"
    assert "SLA missed by rep-alice: warn." in body

    first = await feedback.get("/dashboard/panels")
    etag = first.headers["etag"]
    unchanged = await feedback.get("/dashboard/panels", headers={"if-none-match": etag})
    assert unchanged.status_code == 304

    await load(settings, history("lead-new", "webinar", "q4-webinar", 1))

    async def redrawn() -> bool:
        resp = await feedback.get("/dashboard/panels", headers={"if-none-match": etag})
        if resp.status_code == 304:
            return False
        return metric(resp.json()["panels"]["funnel"], "funnel.lead") == str(counts["lead"] + 1)

    await wait_for(redrawn, timeout_s=30, what="the panels to show the new lead")


async def test_every_report_takes_filters_and_score_calibration_answers(
    feedback: httpx.AsyncClient, two_weeks: None
) -> None:
    month = {"from": (NOW - timedelta(days=30)).isoformat()}
    search = (
        await feedback.get("/v1/reports/funnel", params={**month, "source": "paid_search"})
    ).json()
    assert search["filters"] == {"source": "paid_search"}
    assert search["groups"][0]["counts"]["lead"] == 1
    quality = (
        await feedback.get("/v1/reports/lead-quality", params={**month, "campaign": "q4-webinar"})
    ).json()
    assert [(g["group"], g["rejected"]) for g in quality["groups"]] == [("webinar", 1)]
    sla = (await feedback.get("/v1/reports/sla", params={**month, "team": "nordics"})).json()
    assert sla["sales"]["groups"] == [] and sla["sales"]["overall"] is None
    sla = (await feedback.get("/v1/reports/sla", params={**month, "source": "webinar"})).json()
    assert sla["sales"]["overall"]["assigned"] == 2
    assert {b["band"]: b["count"] for b in sla["sales"]["distribution"]}["not touched"] == 1

    calibration = (await feedback.get("/v1/reports/score-calibration", params=month)).json()
    assert sum(cell["leads"] for cell in calibration["matrix"]) == 3
    assert sum(cell["customers"] for cell in calibration["matrix"]) == 1
    csv = await feedback.get("/v1/reports/score-calibration", params={**month, "format": "csv"})
    assert csv.text.splitlines()[0] == (
        "currency,customers,grade,interest_band,lead_to_customer,leads,revenue_per_lead,"
        "win_rate,won_revenue"
    )
