"""The dashboard's charts are readable (#14.16): small funnel counts beside their bar, the
pipeline value labelled, the attribution model named, the breach feed honest."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

from leadloop_feedback.adapters.feeds import named
from leadloop_feedback.domain import svg
from leadloop_feedback.entrypoints import panels

SVG = "{http://www.w3.org/2000/svg}"


def texts(chart: str) -> dict[str, ET.Element]:
    return {t.get("data-metric", ""): t for t in ET.fromstring(chart).iter(f"{SVG}text")}


def test_a_count_too_wide_for_its_bar_is_drawn_beside_it_in_a_dark_colour() -> None:
    shown = texts(svg.funnel([("lead", 1000, None), ("mql", 120, 0.12), ("customer", 3, 0.02)]))
    wide, narrow = shown["funnel.lead"], shown["funnel.customer"]
    assert wide.get("fill") == "#fff" and wide.get("text-anchor") == "middle"
    assert narrow.get("fill") != "#fff" and narrow.get("text-anchor") == "start"
    assert float(narrow.get("x", "0")) > 240  # right of the bar's centre, past its edge
    assert narrow.text == "3"


def test_the_pipeline_bar_carries_its_value_and_the_chart_its_attribution_model() -> None:
    funnel: dict[str, Any] = {"groups": [{"group": "webinar", "counts": {"mql": 3}}]}
    revenue: dict[str, Any] = {
        "currency": "EUR",
        "attribution": "first_touch",
        "groups": [{"group": "webinar", "won_revenue": 24000.0, "pipeline": 5000.0}],
    }
    html = panels._grouped_panel("By source", funnel, revenue, "source", 30)
    chart = "<svg" + html.split("<svg")[2].split("</svg>")[0] + "</svg>"
    assert (
        ET.fromstring(chart).get("aria-label") == "Revenue by source (EUR, first touch attribution)"
    )
    shown = texts(chart)
    assert shown["won.source.webinar"].text == "24,000 EUR"
    assert shown["won.source.webinar.pipeline"].text == "+ 5,000 EUR pipeline"
    assert "first touch attribution" in html.split("<svg")[2]


def test_no_breach_says_all_in_time_only_once_every_hand_off_is_touched() -> None:
    assert panels.no_breach(0) == "No breach: every hand-off was touched in time."
    assert panels.no_breach(1) == "No breach yet; 1 hand-off not yet touched."
    assert panels.no_breach(3) == "No breach yet; 3 hand-offs not yet touched."


def test_rep_ids_become_names_only_as_whole_tokens() -> None:
    names = {"rep-a": "Ana Alves", "rep-ab": "Abe Brown"}
    line = "Reassigned from rep-a to rep-ab; rep-abc stays."
    assert named(line, names) == "Reassigned from Ana Alves to Abe Brown; rep-abc stays."
    assert named("SLA missed by rep-x: warn.", names) == "SLA missed by rep-x: warn."
