"""The loop benchmark's arithmetic and event recognition (tests/bench): percentiles, windows,
ratios, py-spy profile summaries, which records mark a lead's way through the loop, which
brokers a run covers, and the brokers' figures side by side."""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from leadloop_events import topics
from leadloop_events.envelope import EventData, new_event
from leadloop_events.handoff import LeadAssigned
from leadloop_events.intake import ActivityRecorded, LeadCaptured, LeadProfile
from leadloop_events.lifecycle import LeadIntelligence, LeadStageChanged
from tests.bench.brokers import EXTERNAL, KAFKA, TANSU, kafka_unavailable, plan
from tests.bench.compare import fmt, format_table, side_by_side
from tests.bench.loadgen import ASSIGNED, CAPTURED, HAND_RAISE, SQL, marks_of
from tests.bench.stats import (
    by_package,
    collapse_speedscope,
    frame_name,
    per_lead,
    percentile,
    rate_in_window,
    ratio,
    steady_window,
    summarize_ms,
    top_functions,
)

NOW = datetime(2026, 11, 22, 9, 30, tzinfo=UTC)
LEAD = "lead-ACME-DENTAL"
ANA = LeadProfile(email="ana@acme-dental.com", company="ACME Dental", company_size=240)
INTEL = LeadIntelligence(profile=ANA, fit=60, interest=45, grade="A")


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]  # 1..100
    assert percentile(values, 0.50) == 50
    assert percentile(values, 0.99) == 99
    assert percentile(values, 1.0) == 100
    assert percentile(values, 0.0) == 1
    assert percentile([7.0], 0.99) == 7
    assert percentile(reversed(values), 0.9) == 90  # order of the input does not matter
    assert math.isnan(percentile([], 0.5))
    with pytest.raises(ValueError):
        percentile(values, 1.5)


def test_summary_is_in_milliseconds() -> None:
    summary = summarize_ms([0.010, 0.020, 0.030, 0.040])
    assert summary == {"count": 4, "p50": 20.0, "p90": 40.0, "p99": 40.0, "max": 40.0, "mean": 25.0}
    assert summarize_ms([]) == {"count": 0}


def test_rate_counts_only_the_window() -> None:
    times = [0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 9.0]
    assert rate_in_window(times, 1.0, 3.0) == 2.0  # 1.0, 1.5, 2.0, 2.5 in two seconds
    assert steady_window(10.0, 20.0) == (12.0, 20.0)
    assert steady_window(10.0, 20.0, skip_share=0.0) == (10.0, 20.0)
    with pytest.raises(ValueError):
        rate_in_window(times, 3.0, 3.0)


def test_ratio_refuses_what_cannot_be_divided() -> None:
    assert ratio(30.0, 120.0) == 0.25
    assert ratio(1.0, 3.0) == 0.333
    assert ratio(5.58, 11279.0) == 0.000495  # significant digits, not decimals
    assert ratio(1772.0, 10.0) == 177.0
    assert ratio(None, 2.0) is None
    assert ratio(2.0, 0.0) is None
    assert ratio(math.nan, 2.0) is None
    assert per_lead({"leads.intake": 50, "leads.handoff": 10}, 10) == {
        "leads.intake": 5.0,
        "leads.handoff": 1.0,
    }
    assert per_lead({"x": 3}, 0) == {}


def test_frames_lose_their_line_and_long_paths() -> None:
    assert frame_name("execute (sqlalchemy/engine/base.py:1494)") == (
        "execute (sqlalchemy/engine/base.py)",
        "sqlalchemy",
    )
    long = "run (/root/.pyenv/versions/3.11.7/lib/python3.11/asyncio/base_events.py:12)"
    assert frame_name(long) == ("run (asyncio/base_events.py)", "asyncio")
    own = "Scoring.rescore (/work/main/services/scoring/src/leadloop_scoring/handlers.py:80)"
    assert frame_name(own) == ("Scoring.rescore (leadloop_scoring/handlers.py)", "leadloop_scoring")
    assert frame_name("not a frame") == ("not a frame", "?")


PROFILE = """\
main (uvicorn/main.py:1);handle (leadloop_scoring/handlers.py:10);execute (asyncpg/conn.py:5) 6
main (uvicorn/main.py:1);handle (leadloop_scoring/handlers.py:12);compile (sqlalchemy/sql.py:9) 3
main (uvicorn/main.py:1);relay (leadloop_messaging/relay.py:3);execute (asyncpg/conn.py:7) 1
garbage line without a count
"""


def test_profile_summary_adds_up_samples_per_function() -> None:
    total, self_top, inclusive_top = top_functions(PROFILE, inclusive_package="leadloop")
    assert total == 10
    assert self_top == [("execute (asyncpg/conn.py)", 7), ("compile (sqlalchemy/sql.py)", 3)]
    assert inclusive_top == [
        ("handle (leadloop_scoring/handlers.py)", 9),
        ("relay (leadloop_messaging/relay.py)", 1),
    ]
    assert by_package(PROFILE) == [("asyncpg", 70.0), ("sqlalchemy", 30.0)]


def test_a_speedscope_document_collapses_to_stacks() -> None:
    doc = {
        "shared": {
            "frames": [
                {"name": "main", "file": "uvicorn/main.py", "line": 1},
                {"name": "handle", "file": "/x/src/leadloop_scoring/handlers.py", "line": 10},
                {"name": "execute", "file": "/v/site-packages/asyncpg/conn.py", "line": 5},
            ]
        },
        "profiles": [
            {"samples": [[0, 1, 2], [0, 1, 2], [0, 1]], "weights": [0.01, 0.01, 0.01]},
            {"samples": [[0, 1, 2]], "weights": [0.01]},
        ],
    }
    collapsed = collapse_speedscope(doc)
    total, self_top, inclusive_top = top_functions(collapsed, inclusive_package="leadloop")
    assert total == 4
    assert self_top == [
        ("execute (asyncpg/conn.py)", 3),
        ("handle (leadloop_scoring/handlers.py)", 1),
    ]
    assert inclusive_top == [("handle (leadloop_scoring/handlers.py)", 4)]


def test_recursive_frames_count_once_per_sample() -> None:
    collapsed = "a (m/x.py:1);a (m/x.py:2);b (m/y.py:3) 4\n"
    _, _, inclusive = top_functions(collapsed)
    assert dict(inclusive) == {"a (m/x.py)": 4, "b (m/y.py)": 4}


def record(data: EventData) -> bytes:
    return new_event(data, source="/test", subject=LEAD, time=NOW).to_bytes()


def test_the_marks_of_a_lead_on_its_way_to_an_alert() -> None:
    captured = LeadCaptured(
        lead_id=LEAD, submission_id="s1", is_new_lead=True, channel="form", profile=ANA,
        submitted_at=NOW,
    )  # fmt: skip
    demo = ActivityRecorded(
        lead_id=LEAD, activity_id="a1", activity_type="demo_request", occurred_at=NOW
    )
    page = ActivityRecorded(
        lead_id=LEAD, activity_id="a2", activity_type="page_view", occurred_at=NOW
    )

    def stage(to: str) -> LeadStageChanged:
        return LeadStageChanged(
            lead_id=LEAD, from_stage="mql", to_stage=to, reason="r", agreement_version="v",
            changed_at=NOW, intelligence=INTEL if to == "sql" else None,
        )  # fmt: skip

    assigned = LeadAssigned(
        lead_id=LEAD, assignment_id="as1", owner_rep_id="rep-alice", team="dach",
        business="new", sla_deadline=NOW, agreement_version="v", intelligence=INTEL,
        assigned_at=NOW,
    )  # fmt: skip
    assert marks_of(topics.INTAKE, record(captured)) == [(CAPTURED, LEAD)]
    assert marks_of(topics.INTAKE, record(demo)) == [(HAND_RAISE, LEAD)]
    assert marks_of(topics.INTAKE, record(page)) == []
    assert marks_of(topics.LIFECYCLE, record(stage("sql"))) == [(SQL, LEAD)]
    assert marks_of(topics.LIFECYCLE, record(stage("accepted"))) == []
    assert marks_of(topics.HANDOFF, record(assigned)) == [(ASSIGNED, LEAD)]
    assert marks_of(topics.LIFECYCLE, record(assigned)) == []  # only on its own topic


NO_JAVA = "java is not installed: Apache Kafka needs a JDK 17 or newer"


def test_both_brokers_by_default_and_kafka_skipped_with_its_reason() -> None:
    assert plan("both", None, None) == ([TANSU, KAFKA], {})
    assert plan("both", NO_JAVA, None) == ([TANSU], {KAFKA: NO_JAVA})
    assert plan("tansu", NO_JAVA, None) == ([TANSU], {})
    assert plan("embedded", None, None) == ([TANSU], {})  # `leadloop dev --broker`'s word
    assert plan("kafka", None, None) == ([KAFKA], {})
    with pytest.raises(SystemExit, match="java is not installed"):
        plan("kafka", NO_JAVA, None)  # asked for by name: an error, not a skip
    with pytest.raises(ValueError):
        plan("redpanda", None, None)


def test_a_named_broker_replaces_both() -> None:
    kinds, skipped = plan("both", None, "kafka-1.acme-dental.internal:9092")
    assert kinds == [EXTERNAL]
    assert "KAFKA_BOOTSTRAP_SERVERS=kafka-1.acme-dental.internal:9092" in skipped[TANSU]


def test_kafka_without_its_jars_says_how_to_fetch_them(tmp_path: Path) -> None:
    reason = kafka_unavailable({"LEADLOOP_KAFKA_HOME": str(tmp_path / "kafka")})
    assert reason is not None
    assert "make kafka" in reason
    assert str(tmp_path / "kafka") in reason


def loop_result(
    leads_per_s: float, p50: float, p99: float, chain_per_s: float, *, idempotent: bool
) -> dict[str, Any]:
    """A loop run's document as report.assemble writes it, reduced to what the table reads."""
    latency = {"count": 200, "p50": p50, "p90": p99 - 1, "p99": p99, "max": p99 + 5}
    return {
        "machine": {"load_average_before": [0.5, 0.61, 1.0], "load_average_after": [3.7, 2, 1]},
        "settings": {"idempotent_producer": idempotent},
        "phases": {
            "saturation": {
                "alerts_per_s": leads_per_s,
                "in_flight": 96 if idempotent else 48,
                "latency_ms": {"hand_raise_post_to_alert": {"count": 0}},  # none measured
                "per_lead": {"cpu_ms": {"broker": 15.2}, "write_transactions": 30.9},
            },
            "rate": {
                "rate_per_s": round(leads_per_s / 2, 1),
                "latency_ms": {"hand_raise_post_to_alert": latency, "form_post_to_alert": latency},
            },
        },
        "processes": {"broker": {"peak_mib": 119.4}},
        "baselines": {
            "kafka_chain": {"messages_per_s": chain_per_s, "latency_ms": latency},
            "postgres_commits": {"commits_per_s": 6540.0},
        },
        "ratios": {"cpu_ms_per_lead_without_loadgen": 119.0, "hand_raise_p50_to_chain_p50": 6.4},
        "integrity": {"leads_without_alert": 0, "duplicate_alerts": 0, "touches_failed": 0},
    }


def row(table: dict[str, Any], figure: str) -> dict[str, Any]:
    return next(r for r in table["rows"] if r["figure"] == figure)


def test_side_by_side_puts_each_figure_of_each_broker_on_one_row() -> None:
    table = side_by_side(
        {
            "tansu": loop_result(14.1, 99.0, 161.0, 25290.0, idempotent=False),
            "kafka": loop_result(28.2, 33.0, 80.5, 50580.0, idempotent=True),
        }
    )
    assert table["brokers"] == ["tansu", "kafka"]
    leads = row(table, "heavy leads/s at saturation")
    assert leads == {"figure": leads["figure"], "tansu": 14.1, "kafka": 28.2, "kafka_to_tansu": 2.0}
    assert row(table, "hand-off ms p99, steady (hand-raise POST)")["kafka_to_tansu"] == 0.5
    assert row(table, "baseline: bare chain msg/s at saturation")["kafka"] == 50580.0
    assert row(table, "  of which the broker")["tansu"] == 15.2
    in_flight = row(table, "  leads in flight (best sweep step)")
    assert (in_flight["tansu"], in_flight["kafka"], in_flight["kafka_to_tansu"]) == (48, 96, None)
    producer = row(table, "idempotent producer (detected)")
    assert (producer["tansu"], producer["kafka"], producer["kafka_to_tansu"]) == (False, True, None)
    missing = row(table, "hand-off ms p50, saturation (hand-raise)")
    assert (missing["tansu"], missing["kafka_to_tansu"]) == (None, None)  # no samples, no ratio
    assert row(table, "leads/s ÷ CPU bound")["kafka"] is None  # absent from the document
    assert row(table, "load average before (1/5/15 min)")["tansu"] == "0.50 0.61 1.00"


def test_one_broker_alone_has_no_ratio_column() -> None:
    table = side_by_side({"tansu": loop_result(14.1, 99.0, 161.0, 25290.0, idempotent=False)})
    assert all("kafka_to_tansu" not in r for r in table["rows"])
    text = format_table(table, {"kafka": NO_JAVA})
    assert "kafka ÷ tansu" not in text
    assert text.splitlines()[-1] == f"kafka skipped: {NO_JAVA}"


def test_the_table_aligns_one_column_per_broker() -> None:
    both = {
        "tansu": loop_result(14.1, 99.0, 161.0, 25290.0, idempotent=False),
        "kafka": loop_result(28.2, 33.0, 80.5, 50580.0, idempotent=True),
    }
    lines = format_table(side_by_side(both), {}).splitlines()
    assert lines[0].split() == ["tansu", "kafka", "kafka", "÷", "tansu"]
    assert len({len(line) for line in lines}) == 1  # every line as wide as the header
    leads = next(line for line in lines if line.startswith("heavy leads/s at saturation"))
    assert leads.split()[-3:] == ["14.1", "28.2", "2"]
    chain = next(line for line in lines if line.startswith("baseline: bare chain msg/s"))
    assert chain.split()[-3:] == ["25,290", "50,580", "2"]


def test_wide_figures_widen_every_column() -> None:
    busy = loop_result(9.7, 352.0, 669.0, 14009.0, idempotent=False)
    busy["machine"]["load_average_after"] = [14.18, 8.2, 4.55]
    lines = format_table(side_by_side({"tansu": busy, "kafka": busy}), {}).splitlines()
    load = next(line for line in lines if line.startswith("load average after"))
    cells = re.split(r"\s{3,}", load)  # wide cells stay apart: 3 spaces at least
    assert cells == ["load average after", "14.18 8.20 4.55", "14.18 8.20 4.55", "n/a"]
    assert len({len(line) for line in lines}) == 1


def test_figures_read_as_a_person_writes_them() -> None:
    assert fmt(None) == "n/a"
    assert (fmt(True), fmt(False)) == ("on", "off")
    assert fmt(25290.4) == "25,290"
    assert fmt(6540) == "6,540"
    assert fmt(14.06) == "14.1"
    assert fmt(0.000557) == "0.000557"
    assert fmt(0.84) == "0.84"
    assert fmt(1.84) == "1.84"  # a ratio keeps its 3 digits
    assert fmt(99.44) == "99.4"
    assert fmt("0.50 0.61 1.00") == "0.50 0.61 1.00"
