"""The loop benchmark's arithmetic and event recognition (tests/bench): percentiles, windows,
ratios, py-spy profile summaries, and which records mark a lead's way through the loop."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import pytest

from leadloop_events import topics
from leadloop_events.envelope import EventData, new_event
from leadloop_events.handoff import LeadAssigned
from leadloop_events.intake import ActivityRecorded, LeadCaptured, LeadProfile
from leadloop_events.lifecycle import LeadIntelligence, LeadStageChanged
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
