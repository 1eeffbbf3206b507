"""The decision chain, weighted round robin fairness, capacity and availability, the SLA ladder."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, time, timedelta

import pytest

from leadloop_contract.agreement import Range, Routing, Sla, Team
from leadloop_routing.domain.calendar import WorkingCalendar
from leadloop_routing.domain.chain import LeadFacts, decide, team_matches, weighted_round_robin
from leadloop_routing.domain.model import Absence, Account, Load, Rep
from leadloop_routing.domain.sla import SlaPolicy, policy_from, step_at

NOW = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)  # a Tuesday
ALWAYS = WorkingCalendar("UTC", time(0), time(23, 59, 59), frozenset(range(7)))
ROUTING = Routing(
    fallback_queue="sdr-queue",
    teams=[
        Team(name="enterprise", company_size=Range(min=1000), fallback_queue="enterprise-queue"),
        Team(name="dach", countries=["DE", "AT", "CH"]),
        Team(name="emea", regions=["emea"]),
    ],
)
ANA = LeadFacts("acme-dental.com", "DE", 240, "healthcare")


def rep(rep_id: str, teams: tuple[str, ...] = ("dach",), **kw: object) -> Rep:
    return Rep(
        rep_id=rep_id,
        name=rep_id,
        email=f"{rep_id}@northwind.example",
        teams=teams,
        calendar=kw.pop("calendar", ALWAYS),
        **kw,
    )  # type: ignore[arg-type]


def route(lead: LeadFacts = ANA, reps: list[Rep] | None = None, **kw: object):  # type: ignore[no-untyped-def]
    return decide(
        routing=ROUTING,
        lead=lead,
        reps=reps or [rep("rep-alice")],
        loads=kw.pop("loads", {}),
        accounts=kw.pop("accounts", {}),  # type: ignore[arg-type]
        rr_state=kw.pop("rr_state", {}),
        now=NOW,
        **kw,
    )  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("lead", "team"),
    [
        (ANA, "dach"),
        (LeadFacts("globex.example", "DE", 5200, None), "enterprise"),
        (LeadFacts("maison.example", "FR", 65, None), "emea"),
        (LeadFacts("kaizen.example", "JP", 700, None), None),
        (LeadFacts("x.example", None, None, None), None),
    ],
)
def test_first_matching_team_wins(lead: LeadFacts, team: str | None) -> None:
    matched = next((t.name for t in ROUTING.teams if team_matches(t, lead)), None)
    assert matched == team


def test_account_owner_gets_existing_business() -> None:
    owner = rep("rep-carol", teams=("enterprise",))
    decision = route(
        reps=[rep("rep-alice"), owner],
        accounts={"acme-dental.com": Account("acme-dental.com", "ACME", "rep-carol")},
    )
    assert (decision.rep_id, decision.business) == ("rep-carol", "existing")
    assert "account acme-dental.com" in decision.path[0]


def test_inactive_account_owner_falls_through_to_the_team() -> None:
    decision = route(
        reps=[rep("rep-alice"), rep("rep-carol", active=False)],
        accounts={"acme-dental.com": Account("acme-dental.com", "ACME", "rep-carol")},
    )
    assert (decision.rep_id, decision.business) == ("rep-alice", "new")


@pytest.mark.parametrize(
    ("blocked", "reason", "loads"),
    [
        (rep("rep-bob", active=False), "inactive", {}),
        (
            rep(
                "rep-bob",
                out_of_office=(Absence(NOW - timedelta(days=1), NOW + timedelta(days=1)),),
            ),
            "out_of_office",
            {},
        ),
        (
            rep("rep-bob", calendar=WorkingCalendar("Asia/Tokyo", time(9), time(17))),
            "outside_working_hours",
            {},
        ),
        (rep("rep-bob", max_open_per_day=3), "daily_capacity", {"rep-bob": Load(today=3, total=3)}),
        (rep("rep-bob", max_open_total=10), "total_capacity", {"rep-bob": Load(today=0, total=10)}),
    ],
)
def test_unavailable_reps_are_skipped_with_the_reason(
    blocked: Rep, reason: str, loads: dict[str, Load]
) -> None:
    decision = route(
        reps=[rep("rep-alice"), blocked], loads=loads, rr_state={"dach": {"rep-bob": 100}}
    )
    assert decision.rep_id == "rep-alice"
    assert [(s.rep_id, s.reason) for s in decision.skipped] == [("rep-bob", reason)]


def test_nobody_available_goes_to_the_team_queue_then_the_global_one() -> None:
    decision = route(reps=[rep("rep-alice", active=False)])
    assert (decision.rep_id, decision.queue) == (None, "sdr-queue")
    big = LeadFacts("globex.example", "DE", 5200, None)
    assert route(lead=big, reps=[]).queue == "enterprise-queue"
    nowhere = route(lead=LeadFacts("k.example", "JP", 10, None))
    assert (nowhere.team, nowhere.queue) == ("unassigned", "sdr-queue")


def test_weighted_round_robin_is_fair_spread_and_deterministic() -> None:
    reps = [rep("rep-alice", weight=3), rep("rep-bob", weight=1), rep("rep-dan", weight=2)]
    state: dict[str, int] = {}
    picks = []
    for _ in range(600):
        chosen, state = weighted_round_robin(reps, state)
        picks.append(chosen.rep_id)
    assert Counter(picks) == {"rep-alice": 300, "rep-dan": 200, "rep-bob": 100}
    # Spread, not bursts: within any 6 consecutive picks each rep gets exactly its weight.
    assert all(
        Counter(picks[i : i + 6]) == {"rep-alice": 3, "rep-dan": 2, "rep-bob": 1}
        for i in range(0, 600, 6)
    )
    again: dict[str, int] = {}
    assert [
        weighted_round_robin(reps, again := weighted_round_robin(reps, again)[1])[0].rep_id
        for _ in range(1)
    ] == [picks[1]]


def test_round_robin_state_carries_across_decisions() -> None:
    reps = [rep("rep-alice"), rep("rep-bob")]
    first = route(reps=reps)
    second = route(reps=reps, rr_state={"dach": first.weights})
    assert {first.rep_id, second.rep_id} == {"rep-alice", "rep-bob"}


def test_excluded_reps_are_not_chosen_again() -> None:
    decision = route(reps=[rep("rep-alice"), rep("rep-bob")], exclude=frozenset({"rep-alice"}))
    assert decision.rep_id == "rep-bob"


def test_sla_ladder() -> None:
    policy = SlaPolicy(first_touch_minutes=30, max_reassignments=1)
    assert [step_at(policy, i, 0) for i in range(4)] == [
        "warn",
        "notify_manager",
        "reassign",
        "queue",
    ]
    assert step_at(policy, 2, 1) == "queue"
    custom = policy_from(
        Sla.model_validate(
            {"first_touch_minutes": 10, "escalation": ["reassign"], "max_reassignments": 3}
        )
    )
    assert (custom.first_touch_minutes, custom.ladder, custom.max_reassignments) == (
        10,
        ("reassign",),
        3,
    )
    with pytest.raises(ValueError, match="escalation"):
        policy_from(Sla.model_validate({"escalation": ["panic"]}))
