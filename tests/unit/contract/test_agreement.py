"""The agreement file: the example loads, every error is reported with its path, diffs read well."""

from __future__ import annotations

import pytest

from leadloop_contract.agreement import (
    EXAMPLE_FILE,
    SCHEMA_FILE,
    AgreementInvalid,
    checksum,
    load_agreement,
)
from leadloop_contract.agreement.diff import diff_agreements
from leadloop_contract.agreement.loader import render_schema

from .factories import AGREEMENT, agreement_with


def test_the_example_loads_and_the_schema_file_is_current() -> None:
    assert AGREEMENT.version == "2026-11"
    assert {team.name for team in AGREEMENT.routing.teams} >= {"dach", "nordics"}
    assert "NO" in AGREEMENT.routing.teams[2].countries
    assert SCHEMA_FILE.read_text() == render_schema(), "run the agreement --schema generator"


def test_every_error_is_reported_with_its_path() -> None:
    text = EXAMPLE_FILE.read_text()
    broken = (
        text.replace("op: range", "op: between", 1)
        .replace("half_life_days: 30", "half_life_days: 0")
        .replace("mql: {min_total: 45, min_grade: C}", "mql: {min_total: 95, min_grade: C}")
        .replace("demo_request: 40", "demo_reqest: 40")
    )
    with pytest.raises(AgreementInvalid) as info:
        load_agreement(broken)
    paths = {e["path"] for e in info.value.errors}
    assert "fit.rules[0].op" in paths
    assert "interest.half_life_days" in paths
    assert "interest.points.demo_reqest" in paths
    assert "matrix" in paths
    assert all(e["reason"] for e in info.value.errors)


@pytest.mark.parametrize(
    ("text", "where"),
    [("version: [unclosed", "line 1"), ("- just\n- a list\n", "(document)")],
)
def test_broken_yaml_is_refused_with_a_location(text: str, where: str) -> None:
    with pytest.raises(AgreementInvalid) as info:
        load_agreement(text)
    assert info.value.errors[0]["path"].startswith(where)


def test_checksum_follows_the_content() -> None:
    assert checksum(AGREEMENT) == checksum(load_agreement(EXAMPLE_FILE.read_text()))
    assert checksum(AGREEMENT) != checksum(agreement_with(version="2026-12"))


def test_diff_says_what_changes_for_whom() -> None:
    rules = AGREEMENT.model_dump(mode="json")["fit"]["rules"]
    rules[0]["points"] = 30
    new = agreement_with(
        version="2026-12",
        matrix__mql={"min_total": 55, "min_grade": "C"},
        fit__rules=rules,
        negative__competitor_domains=[
            "globex-ops.example",
            "initech-flow.example",
            "hooli-ops.example",
        ],
        interest__half_life_days=14,
    )
    lines = diff_agreements(AGREEMENT, new)
    assert "The MQL threshold rises from 45 to 55 points: fewer leads become MQLs." in lines
    assert "Fit rule `size-mid-market` now gives 30 points instead of 25." in lines
    assert (
        "Competitor domain hooli-ops.example added: its people score -100 and are disqualified."
    ) in lines
    assert any(line.startswith("Interest fades faster") for line in lines)
    assert diff_agreements(AGREEMENT, AGREEMENT) == []


def test_routing_and_sla_sections_are_checked_too() -> None:
    text = (
        EXAMPLE_FILE.read_text()
        .replace("timezone: Europe/Berlin", "timezone: Europe/Berln")
        .replace('hours: "09:00-17:30"', 'hours: "17:30-09:00"')
        .replace("escalation: [warn, notify_manager, reassign]", "escalation: [warn, panic]")
    )
    with pytest.raises(AgreementInvalid) as info:
        load_agreement(text)
    paths = {e["path"] for e in info.value.errors}
    assert {"routing.teams[1].timezone", "routing.teams[3]", "sla.escalation[1]"} <= paths
