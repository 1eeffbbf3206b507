"""Every amount shown names its currency: the review's decisions, the dashboard's revenue
charts and the CSV exports."""

from __future__ import annotations

import csv
import io
import xml.etree.ElementTree as ET
from typing import Any

from leadloop_feedback.domain import reviews
from leadloop_feedback.entrypoints import panels
from leadloop_feedback.entrypoints.reports_http import answer

from .test_reviews_and_charts import snapshot

SVG = "{http://www.w3.org/2000/svg}"


def test_the_budget_decision_names_the_pipelines_currency() -> None:
    now = snapshot(sql=6, pacing=0.8, within=0.6, rejected=0.75, roi=-0.4)
    now.revenue["currency"] = "EUR"  # type: ignore[index]
    md = reviews.to_markdown(reviews.agenda("weekly", now, now))
    assert "with 5,000 EUR in pipeline: keep funding it?" in md


def test_the_revenue_chart_names_its_currency_on_every_amount() -> None:
    funnel: dict[str, Any] = {"groups": [{"group": "webinar", "counts": {"mql": 3}}]}
    revenue: dict[str, Any] = {
        "currency": "EUR",
        "groups": [{"group": "webinar", "won_revenue": 24000.0, "pipeline": 5000.0}],
    }
    html = panels._grouped_panel("By source", funnel, revenue, "source", 30)
    assert "won revenue (EUR)" in html and "open pipeline (EUR)" in html
    charts = [
        ET.fromstring("<svg" + part[: part.index("</svg>") + 6]) for part in html.split("<svg")[1:]
    ]
    money_chart = charts[1]
    assert money_chart.get("aria-label") == "Revenue by source (EUR)"
    shown = {t.get("data-metric"): t.text for t in money_chart.iter(f"{SVG}text")}
    assert shown["won.source.webinar"] == "24,000 EUR"


def test_csv_exports_carry_the_reports_currency_on_every_row() -> None:
    body = {"currency": "EUR", "groups": [{"group": "webinar", "won_revenue": 24000.0}]}
    response = answer(body, body["groups"], "csv")
    header, row = list(csv.reader(io.StringIO(bytes(response.body).decode())))
    assert row[header.index("currency")] == "EUR"
    assert row[header.index("won_revenue")] == "24000.0"
    counts = answer({"groups": [{"group": "webinar", "n": 1}]}, [{"group": "webinar"}], "csv")
    assert "currency" not in bytes(counts.body).decode()  # a report without amounts has none
