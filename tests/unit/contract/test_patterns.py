"""Agreement patterns run on RE2 (issue #12, item 6: ReDoS through the agreement)."""

from __future__ import annotations

import pytest

from leadloop_contract.agreement import EXAMPLE_FILE, AgreementInvalid, load_agreement
from leadloop_contract.agreement.patterns import (
    MAX_PATTERN,
    PatternRefused,
    compile_pattern,
    search,
)


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
