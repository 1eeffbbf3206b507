"""Scoring matches the agreement's patterns on RE2 (issue #12, item 6: ReDoS through the
agreement); the patterns themselves are tested with the contract."""

from __future__ import annotations

from leadloop_contract.agreement import Agreement
from leadloop_contract.agreement.patterns import compile_pattern
from leadloop_scoring.domain.rules import score

from .factories import AGREEMENT, NOW, agreement_with, person

RED_TEAM_PATTERN = r"^(\w+\s?)+$"
# 30 word characters and a final mismatch: Python's re backtracks through 2^30 splits (~60 s).
HOSTILE_TITLE = "a" * 29 + "!"


def _with_title_rule(pattern: str) -> Agreement:
    rules = AGREEMENT.model_dump(mode="json")["fit"]["rules"]
    rule = {"id": "greedy", "field": "job_title", "op": "regex", "value": pattern, "points": 5}
    return agreement_with(fit__rules=[*rules, rule])


def test_the_red_team_pattern_scores_a_hostile_title_on_re2() -> None:
    agreement = _with_title_rule(RED_TEAM_PATTERN)
    compiled = compile_pattern(RED_TEAM_PATTERN)
    assert type(compiled).__module__.startswith("re2"), "agreement patterns must run on RE2"
    result = score(agreement, person(job_title=HOSTILE_TITLE), [], NOW)
    assert "fit:greedy" not in {line.rule for line in result.breakdown}
    matched = score(agreement, person(job_title="Head of Operations"), [], NOW)
    assert "fit:greedy" in {line.rule for line in matched.breakdown}
