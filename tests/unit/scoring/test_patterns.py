"""Agreement patterns run on RE2 (issue #12, item 6: ReDoS through the agreement)."""

from __future__ import annotations

import pytest

from leadloop_scoring.domain.agreement import (
    EXAMPLE_FILE,
    Agreement,
    AgreementInvalid,
    load_agreement,
)
from leadloop_scoring.domain.patterns import MAX_PATTERN, PatternRefused, compile_pattern, search
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


def test_matching_is_case_insensitive_as_before() -> None:
    assert search(r"\bhead\b", "HEAD of Operations")
    assert not search(r"\bhead\b", "Headcount planner")


def test_only_the_bounded_start_of_a_subject_is_read() -> None:
    assert not search("needle$", "x" * 10_000 + "needle")


@pytest.mark.parametrize(
    ("pattern", "why"),
    [
        (r"(\w+)\s\1", "backreference"),
        (r"head(?=\s)", "lookahead"),
        (r"(?<!vice )president", "lookbehind"),
        ("a" * (MAX_PATTERN + 1), "characters"),
    ],
)
def test_patterns_re2_cannot_run_are_refused(pattern: str, why: str) -> None:
    with pytest.raises(PatternRefused):
        compile_pattern(pattern)


def test_publishing_refuses_a_lookaround_fit_rule_with_its_path() -> None:
    text = EXAMPLE_FILE.read_text().replace(
        r'value: "\\b(vp|vice president|head|director|chief|c[eotif]o)\\b"',
        r'value: "(?<!vice )president"',
    )
    with pytest.raises(AgreementInvalid) as info:
        load_agreement(text)
    [error] = info.value.errors
    assert error["path"] == "fit.rules[4].value"
    assert "RE2" in error["reason"]


def test_publishing_refuses_a_backreference_student_pattern_with_its_path() -> None:
    text = EXAMPLE_FILE.read_text().replace(
        r'title_patterns: ["\\bstudent\\b"', r'title_patterns: ["(\\w+) \\1", "\\bstudent\\b"'
    )
    with pytest.raises(AgreementInvalid) as info:
        load_agreement(text)
    assert [e["path"] for e in info.value.errors] == ["negative.student.title_patterns[0]"]
