"""The lifecycle state machine: the legal moves, the CRM's statuses and what they move,
and applying a move feedback decided."""

from __future__ import annotations

from typing import Any

import pytest

from leadloop_contract.lifecycle import (
    LEGAL,
    SALES_TARGETS,
    Refused,
    Transition,
    apply_decided,
    is_legal,
    sales_transition,
)
from leadloop_contract.values import CRM_STATUSES, STAGES, Stage


@pytest.mark.parametrize(
    ("stage", "status", "expected"),
    [
        ("sql", "accepted", "accepted"),
        ("sql", "working", "accepted"),
        ("accepted", "working", None),
        ("sql", "rejected", "recycled"),
        ("accepted", "unqualified", "recycled"),
        ("sql", "disqualified", "disqualified"),
        ("accepted", "opportunity", "opportunity"),
        ("opportunity", "deal_won", "customer"),
        ("opportunity", "deal_lost", "recycled"),
        ("sql", "deal_created", "opportunity"),
        ("lead", "accepted", Refused),
        ("mql", "opportunity", Refused),
        ("customer", "recycled", Refused),
        ("disqualified", "accepted", Refused),
        ("sql", "teleported", Refused),
    ],
)
def test_sales_transitions(stage: Stage, status: str, expected: Any) -> None:
    outcome = sales_transition(stage, status)
    if expected is Refused:
        assert isinstance(outcome, Refused) and outcome.reason
    elif expected is None:
        assert outcome is None
    else:
        assert isinstance(outcome, Transition) and outcome.to_stage == expected


def test_every_stage_has_its_legal_moves_and_every_crm_status_a_target() -> None:
    assert set(LEGAL) == set(STAGES)
    assert set(CRM_STATUSES) <= set(SALES_TARGETS)
    assert all(is_legal("sql", SALES_TARGETS[s]) for s in ("accepted", "rejected", "opportunity"))


def test_a_decided_move_is_applied_from_where_the_lead_is() -> None:
    move = apply_decided("accepted", "recycled", "rejected")
    assert move == Transition("accepted", "recycled", "CRM: rejected")


@pytest.mark.parametrize(("stage", "to"), [("accepted", None), ("accepted", "accepted")])
def test_a_decision_that_moves_nothing_is_no_transition(stage: Stage, to: Stage | None) -> None:
    assert apply_decided(stage, to, "working") is None


def test_applying_a_decision_does_not_decide_it_again() -> None:
    """Feedback is the one author of sales-side moves: scoring applies what it published,
    even from a stage scoring's own view of the lead would have refused."""
    assert isinstance(sales_transition("recycled", "deal_won"), Refused)
    move = apply_decided("recycled", "customer", "deal_won")
    assert move is not None and (move.from_stage, move.to_stage) == ("recycled", "customer")
