"""The hand-off's lead intelligence stays within the event bounds (issue #12, item 3)."""

from __future__ import annotations

from leadloop_contract.agreement import Agreement
from leadloop_events.bounds import MAX_ITEMS
from leadloop_events.envelope import new_event
from leadloop_events.lifecycle import LeadStageChanged
from leadloop_scoring.domain.intelligence import lead_intelligence
from leadloop_scoring.domain.rules import score

from .factories import AGREEMENT, NOW, agreement_with, did, person

CAMPAIGNS = [f"q{i // 50 + 1}-campaign-{i:04d}" for i in range(6_000)]
SOURCES = [f"partner-{i:03d}" for i in range(150)]


def test_a_lead_with_6000_campaigns_hands_off_the_100_most_recent() -> None:
    ana = person()
    facts = [did("page_view", days_ago=i / 100, campaign=CAMPAIGNS[-1 - i]) for i in range(300)]
    result = score(AGREEMENT, ana, facts, NOW)
    intelligence = lead_intelligence(
        ana,
        result,
        facts,
        sources=SOURCES,
        campaigns=CAMPAIGNS,
        first_seen_at=NOW,
        timeline_limit=MAX_ITEMS,
    )
    assert intelligence.campaigns == CAMPAIGNS[-MAX_ITEMS:]
    assert intelligence.campaigns[-1] == "q120-campaign-5999"
    assert intelligence.sources == SOURCES[-MAX_ITEMS:]
    assert len(intelligence.timeline) == MAX_ITEMS
    assert intelligence.timeline[0].campaign == "q120-campaign-5999"
    event = new_event(
        LeadStageChanged(
            lead_id="lead-ana",
            from_stage="mql",
            to_stage="sql",
            reason="hand-raise",
            agreement_version=AGREEMENT.version,
            changed_at=NOW,
            intelligence=intelligence,
        ),
        source="/leadloop/scoring",
        subject="lead-ana",
    )
    assert len(event.model_dump_json()) < 64 * 1024


def test_a_rule_with_a_long_value_still_explains_itself_within_bounds() -> None:
    rules = AGREEMENT.model_dump(mode="json")["fit"]["rules"]
    countries = [f"country-{i:04d}" for i in range(1_000)] + ["DE"]
    rule = {"id": "many", "field": "country", "op": "one_of", "value": countries, "points": 1}
    agreement: Agreement = agreement_with(fit__rules=[*rules, rule])
    result = score(agreement, person(), [], NOW)
    [line] = [line for line in result.breakdown if line.rule == "fit:many"]
    assert 1_000 < len(line.reason) <= 2_000 and line.reason.endswith("…")
