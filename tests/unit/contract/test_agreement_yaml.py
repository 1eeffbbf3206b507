"""Hostile agreement YAML is refused with a location, never a crash (issue #12, items 3 and 13)."""

from __future__ import annotations

import pytest

from leadloop_contract.agreement import (
    EXAMPLE_FILE,
    MAX_DOCUMENT_BYTES,
    AgreementInvalid,
    load_agreement,
)

EXAMPLE = EXAMPLE_FILE.read_text()
MARKETING = "  marketing: Jo Park, Head of Marketing"


def _alias_bomb() -> str:
    """Under 500 bytes that expand to 9^6 strings (the red team's 6 KB bomb made a 6.9 MB event)."""
    lines = ['  l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for level in range(1, 6):
        refs = ", ".join([f"*l{level - 1}"] * 9)
        lines.append(f"  l{level}: &l{level} [{refs}]")
    return EXAMPLE.replace("sla:\n", "sla:\n" + "\n".join(lines) + "\n", 1)


def _string_bomb() -> str:
    """One 100 KB string referred to 100 times: a 10 MB document once expanded."""
    text = "x" * 100_000
    refs = ", ".join(["*big"] * 100)
    return EXAMPLE.replace("sla:\n", f'sla:\n  big: &big "{text}"\n  many: [{refs}]\n', 1)


HOSTILE = {
    "binary with invalid UTF-8": (EXAMPLE.replace(MARKETING, "  marketing: !!binary gICA"), "line"),
    "nan points": (EXAMPLE.replace("demo_request: 40", "demo_request: .nan"), "line"),
    "infinite points": (EXAMPLE.replace("demo_request: 40", "demo_request: .inf"), "line"),
    "overflowing float": (
        EXAMPLE.replace("demo_request: 40", "demo_request: 1.0e+999"),
        "line",
    ),
    "infinity as text": (
        EXAMPLE.replace("demo_request: 40", "demo_request: 1e999"),
        "interest.points.demo_request",
    ),
    "5,000-digit integer": (
        EXAMPLE.replace("demo_request: 40", "demo_request: " + "9" * 5000),
        "line",
    ),
    "nesting 5,000 levels": (
        EXAMPLE.replace("sla:\n", "sla:\n  deep: " + "[" * 5000 + "]" * 5000 + "\n", 1),
        "line",
    ),
    "alias bomb": (_alias_bomb(), "line"),
    "string alias bomb": (_string_bomb(), "line"),
    "recursive alias": (EXAMPLE.replace("sla:\n", "sla:\n  loop: &loop [*loop]\n", 1), "line"),
    "impossible date": (EXAMPLE.replace("2026-11-01", "2026-13-45"), "line"),
    "NUL character": (EXAMPLE.replace(MARKETING, '  marketing: "Jo\\0Park"'), "line"),
    "lone surrogate": (EXAMPLE.replace(MARKETING, '  marketing: "Jo\\ud800Park"'), "line"),
    "window of 10^30 days": (
        EXAMPLE.replace("window_days: 90", "window_days: 1" + "0" * 30),
        "interest.window_days",
    ),
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_yaml_is_refused_with_a_location(name: str) -> None:
    text, where = HOSTILE[name]
    assert text != EXAMPLE, "the test must change the example"
    with pytest.raises(AgreementInvalid) as info:
        load_agreement(text)
    [error] = info.value.errors
    assert error["path"].startswith(where), error
    assert error["reason"] and "\n" not in error["reason"]


def test_a_document_too_big_for_its_event_is_refused() -> None:
    filler = ", ".join(f"competitor-{i:06d}.example" for i in range(12_000))
    text = EXAMPLE.replace("competitor_domains: [", f"competitor_domains: [{filler}, ", 1)
    assert "competitor-011999.example" in text
    with pytest.raises(AgreementInvalid) as info:
        load_agreement(text)
    assert info.value.errors == [{"path": "(document)", "reason": info.value.errors[0]["reason"]}]
    assert str(MAX_DOCUMENT_BYTES) in info.value.errors[0]["reason"]


def test_anchors_and_aliases_within_bounds_still_load() -> None:
    text = EXAMPLE.replace(
        "  excluded_titles: [recruiter, journalist]",
        "  excluded_titles: &titles [recruiter, journalist]\n  # reused below\n",
    )
    assert load_agreement(text).negative.excluded_titles == ["recruiter", "journalist"]
