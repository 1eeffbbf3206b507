"""The demo's simulated CRM behaves as a CRM does, and the demo says why no breach appears."""

from __future__ import annotations

import random
from datetime import UTC, datetime

from leadloop_cli.demo_hours import explain_breaches, next_opening, paused_clocks
from leadloop_cli.demo_sales import DEAL_SIZES, next_call
from leadloop_contract.agreement import EXAMPLE_FILE, load_agreement


def test_a_deal_keeps_its_amount_from_created_to_closed() -> None:
    for seed in range(200):
        rng = random.Random(seed)
        lead_id = f"lead-{seed:04d}-acme-dental"
        endpoint, created, step = next_call(rng, lead_id, "rep-alice", 2)
        assert endpoint == "deals" and created["stage"] == "created" and step == 3
        endpoint, closed, step = next_call(rng, lead_id, "rep-alice", 3)
        assert closed["stage"] in ("won", "lost") and step == 4
        assert closed["deal_id"] == created["deal_id"]
        assert closed["amount"] == created["amount"], seed
        assert int(created["amount"]) in DEAL_SIZES


def test_deals_of_different_leads_vary_in_size() -> None:
    amounts = {
        next_call(random.Random(0), f"lead-{n:04d}-x", "rep-alice", 2)[1]["amount"]
        for n in range(50)
    }
    assert len(amounts) > 2


def test_the_demo_says_why_no_breach_appears_on_a_weekend() -> None:
    saturday = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
    why = explain_breaches(saturday, str(EXAMPLE_FILE))
    assert why is not None and "working minutes" in why
    agreement = load_agreement(EXAMPLE_FILE.read_text(encoding="utf-8"))
    for team in agreement.routing.teams:
        assert team.name in why
    assert "Mon" in why


def test_the_demo_says_nothing_while_every_team_works() -> None:
    agreement = load_agreement(EXAMPLE_FILE.read_text(encoding="utf-8"))
    wednesday = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
    working = [t.name for t in agreement.routing.teams if next_opening(t, wednesday) is None]
    assert working, "some team works at noon UTC on a Wednesday"
    assert all(name not in " ".join(paused_clocks(agreement, wednesday)) for name in working)
