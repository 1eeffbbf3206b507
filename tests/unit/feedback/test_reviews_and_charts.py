"""The review agenda and the server-drawn charts: known inputs, known outputs."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from typing import Any

import pytest

from leadloop_feedback.domain import markdown, reviews, svg

START, END = datetime(2026, 11, 16, tzinfo=UTC), datetime(2026, 11, 23, tzinfo=UTC)


@pytest.mark.parametrize(
    ("now", "before", "expected"),
    [
        (12, 10, "+20%"),
        (5, 10, "−50%"),
        (10, 10, "unchanged"),
        (3, 0, "new"),
        (0, 0, "unchanged"),
        (None, 4, ""),
    ],
)
def test_change_between_periods(now: float | None, before: float | None, expected: str) -> None:
    assert reviews.change(now, before) == expected


@pytest.mark.parametrize(
    ("value", "shown"), [(None, "n/a"), (4.4, "4 min"), (119, "119 min"), (150, "2.5 h")]
)
def test_minutes_read_as_people_say_them(value: float | None, shown: str) -> None:
    assert reviews.minutes(value) == shown


def snapshot(
    *,
    sql: int,
    pacing: float,
    within: float | None,
    rejected: float,
    roi: float | None,
    won: float = 0.0,
) -> reviews.Snapshot:
    counts = {"lead": 40, "mql": 20, "sql": sql, "accepted": 4, "opportunity": 2, "customer": 1}
    conversion: dict[str, Any] = {"lead_to_mql": 0.5, "mql_to_sql": sql / 20}
    period = {"start": START, "end": END}
    overall = {
        "assigned": 5,
        "touched": 4,
        "p50_minutes": 12.0,
        "p90_minutes": 50.0,
        "touched_within_sla": within,
        "attempts": 9,
        "breaches": 1,
        "reassignments": 0,
    }
    return reviews.Snapshot(
        funnel={"period": period, "groups": [{"counts": counts, "conversion": conversion}]},
        sla={
            "marketing": {
                "mql": {"delivered": 20, "target": 25, "pacing": pacing, "summary": "s"},
                "sql": {"delivered": sql, "target": None},
            },
            "sales": {
                "first_touch_minutes": 30,
                "overall": overall,
                "groups": [{"group": "rep-bo", **overall}],
            },
        },
        lead_quality={
            "groups": [
                {
                    "group": "events",
                    "decided": 4,
                    "acceptance_rate": 1 - rejected,
                    "rejection_rate": rejected,
                    "rejection_reasons": {"bad_fit": 2, "duplicate": 1},
                }
            ]
        },
        revenue={
            "attribution": "linear",
            "groups": [
                {
                    "group": "trade-show",
                    "won_revenue": won,
                    "pipeline": 5000.0,
                    "won_deals": 1,
                    "win_rate": 0.5,
                    "spend": 9000.0,
                    "roi": roi,
                }
            ],
        },
    )


def test_agenda_flags_what_missed_and_compares_periods() -> None:
    now = snapshot(sql=6, pacing=0.8, within=0.6, rejected=0.75, roi=-0.4)
    before = snapshot(sql=4, pacing=1.2, within=0.9, rejected=0.0, roi=None)
    agenda = reviews.agenda("weekly", now, before)
    md = reviews.to_markdown(agenda)
    assert md.startswith("# Weekly sales and marketing review\n\n2026-11-16 00:00 to 2026-11-23")
    assert "| SQL | 6 | 4 | +50% |" in md
    # Markdown output escapes parentheses (names are escaped, and so is the text around them)
    assert "Touched within the SLA: 60% \\(previous period 90%\\)" in md
    assert "Why sales sent leads back: bad fit \\(2\\), duplicate \\(1\\)." in md
    decide = agenda.sections[-1].bullets
    assert decide == [
        "Marketing: MQL volume is pacing at 80% of target: which programs add volume, or "
        "should the target change?",
        "Sales: rep-bo touched 60% of hand-offs within the SLA (1 breaches): capacity, routing "
        "weight or coaching?",
        "Lead quality: 75% of events leads were rejected, mostly bad fit: tighten its fit rules "
        "or its targeting?",
        "Budget: trade-show has not paid back yet (ROI -40%) with 5,000 in pipeline: keep "
        "funding it?",
    ]


def test_agenda_with_nothing_missed_says_so() -> None:
    good = snapshot(sql=6, pacing=1.1, within=0.95, rejected=0.0, roi=2.0, won=27000)
    agenda = reviews.agenda("monthly", good, good)
    assert agenda.sections[-1].bullets == ["Both sides kept the agreement: no decision is needed."]
    changed = agenda.sections[-2].bullets
    assert changed == ["Median speed to lead: 12 min → 12 min."]


def test_markdown_tables_escape_pipes() -> None:
    agenda = reviews.Agenda(
        "T", START, END, [reviews.Section("S", ["b"], reviews.Table(["a|b"], [["x|y"]]))]
    )
    assert "| a\\|b |\n|---|\n| x\\|y |" in reviews.to_markdown(agenda)


HOSTILE_SCRIPT = "<script>alert(1)</script>"
HOSTILE_LINK = "[x](javascript:alert(1))"


def test_markdown_makes_html_and_links_in_names_inert() -> None:
    now = snapshot(sql=6, pacing=0.8, within=0.6, rejected=0.75, roi=-0.4)
    now.revenue["groups"][0]["group"] = HOSTILE_SCRIPT  # type: ignore[index]
    now.lead_quality["groups"][0]["group"] = HOSTILE_LINK  # type: ignore[index]
    now.lead_quality["groups"][0]["rejection_reasons"] = {"![img](http://x/y.png)": 3}  # type: ignore[index]
    now.sla["sales"]["groups"][0]["group"] = "**rep**_`x`|y"  # type: ignore[index]
    md = reviews.to_markdown(reviews.agenda("weekly", now, now))
    assert "<script>" not in md and "&lt;script&gt;alert\\(1\\)&lt;/script&gt;" in md
    assert "](" not in md and "\\[x\\]\\(javascript:alert\\(1\\)\\)" in md
    assert "!\\[img\\]\\(http://x/y.png\\)" in md
    assert "| \\*\\*rep\\*\\*\\_\\`x\\`\\|y | 5 |" in md
    # every table row still has as many cells as its header
    for line in md.splitlines():
        if line.startswith("| rep |"):
            header_cells = len(line.split(" | "))
        if line.startswith("| \\*\\*rep"):
            assert len(line.replace("\\|", "").split(" | ")) == header_cells


def test_markdown_escape_keeps_one_line() -> None:
    assert markdown.escape("a\n# b\r\n<i>&") == "a # b  &lt;i&gt;&amp;"


def test_review_says_the_currency_and_lists_unconverted_amounts_apart() -> None:
    now = snapshot(sql=6, pacing=1.1, within=0.95, rejected=0.0, roi=2.0, won=1000)
    now.revenue["currency"] = "EUR"  # type: ignore[index]
    now.revenue["unconverted"] = {"won_revenue": {"JPY": 5_000_000.0}}  # type: ignore[index]
    md = reviews.to_markdown(reviews.agenda("weekly", now, now))
    assert "| won revenue \\(EUR\\) | 1,000 | 1,000 | unchanged |" in md
    assert "- Won 1,000 EUR from 1 deals; 5,000 EUR in open pipeline" in md
    assert "- Not added, no exchange rate configured: won revenue 5,000,000 JPY." in md
    assert "5,001,000" not in md


def parse(drawing: str) -> ET.Element:
    return ET.fromstring(drawing)


def test_charts_are_valid_svg_and_escape_labels() -> None:
    hostile = "<script>alert(1)</script>"
    drawing = svg.bars([(hostile, 3.0, 1.0)], "mql.campaign", "MQLs")
    root = parse(drawing)
    assert "<script>" not in drawing
    texts = [t.text for t in root.iter("{http://www.w3.org/2000/svg}text")]
    assert hostile[:24] in texts


def test_gauge_clamps_and_shows_the_true_share() -> None:
    root = parse(svg.gauge(1.37, "MQL target pacing", "137 of 100", "sla.mql_pacing"))
    shown = [
        t
        for t in root.iter("{http://www.w3.org/2000/svg}text")
        if t.get("data-metric") == "sla.mql_pacing"
    ]
    assert [t.text for t in shown] == ["137%"]
    empty = parse(svg.gauge(None, "t", "d", "m"))
    assert len(list(empty.iter("{http://www.w3.org/2000/svg}path"))) == 1  # the track only


def test_funnel_and_columns_carry_their_numbers() -> None:
    root = parse(svg.funnel([("lead", 10, None), ("mql", 4, 0.4)]))
    metrics = {
        t.get("data-metric"): t.text
        for t in root.iter("{http://www.w3.org/2000/svg}text")
        if t.get("data-metric")
    }
    assert metrics == {"funnel.lead": "10", "funnel.mql": "4"}
    root = parse(svg.columns([("< 5 min", 3), ("not touched", 0)], svg.SALES, "speed", "x"))
    assert {
        t.get("data-metric"): t.text
        for t in root.iter("{http://www.w3.org/2000/svg}text")
        if t.get("data-metric")
    } == {"speed.< 5 min": "3", "speed.not touched": "0"}
