"""YAML 1.1 surprises are refused where text is meant, with the path and what to write instead
(issue #14, item 10): a bare NO in a country list is `false`, and Norway would lose its points."""

from __future__ import annotations

from pathlib import Path

import pytest

from leadloop_contract.agreement import EXAMPLE_FILE, AgreementInvalid, load_agreement

EXAMPLE = EXAMPLE_FILE.read_text()
DEPLOYED = Path(__file__).resolve().parents[3] / "deploy" / "k8s" / "agreement.yaml"
TERRITORY = 'value: [DE, AT, CH, SE, "NO", DK'

SURPRISES = {
    "bare NO in a fit rule's countries": (
        EXAMPLE.replace(TERRITORY, "value: [DE, AT, CH, SE, NO, DK"),
        "fit.rules[2].value[4]",
        'write "NO" in quotes: a bare NO is read as false',
    ),
    "bare NO in a team's countries": (
        EXAMPLE.replace('countries: [SE, "NO", DK, FI]', "countries: [SE, NO, DK, FI]"),
        "routing.teams[2].countries[1]",
        'write "NO" in quotes: a bare NO is read as false',
    ),
    "yes as an industry": (
        EXAMPLE.replace("[Software, Healthcare,", "[yes, Healthcare,"),
        "fit.rules[3].value[0]",
        'write "yes" in quotes: a bare yes is read as true',
    ),
    "off as a free mail domain": (
        EXAMPLE.replace("free_mail_domains: [gmail.com,", "free_mail_domains: [off,"),
        "negative.free_mail_domains[0]",
        'write "off" in quotes: a bare off is read as false',
    ),
    "on as an interest band": (
        EXAMPLE.replace("warm: 15", "on: 15"),
        "interest.bands.on",
        'write "on" in quotes: a bare on is read as true',
    ),
    "octal-looking text": (
        EXAMPLE.replace("value: operations", "value: 010"),
        "fit.rules[5].value",
        'write "010" in quotes: a bare 010 is read as the number 8',
    ),
    "a date as the version": (
        EXAMPLE.replace('version: "2026-11"', "version: 2026-11-01"),
        "version",
        'write "2026-11-01" in quotes: a bare 2026-11-01 is read as a date',
    ),
    "a boolean as a range bound": (
        EXAMPLE.replace("{min: 50, max: 5000}", "{min: yes, max: 5000}"),
        "fit.rules[0].value.min",
        "must be a number: a bare yes is read as true",
    ),
    "1e3 as a range bound": (
        EXAMPLE.replace("{min: 50, max: 5000}", "{min: 50, max: 1e3}"),
        "fit.rules[0].value.max",
        "must be a number: YAML 1.1 reads 1e3 as text; write 1000",
    ),
    "a number in an equals on text": (
        EXAMPLE.replace("op: contains\n      value: operations", "op: equals\n      value: 1"),
        "fit.rules[5].value",
        'write "1" in quotes: a bare 1 is read as the number 1',
    ),
}


@pytest.mark.parametrize("name", sorted(SURPRISES))
def test_a_yaml_surprise_is_named_with_its_path_and_the_fix(name: str) -> None:
    text, path, reason = SURPRISES[name]
    with pytest.raises(AgreementInvalid) as info:
        load_agreement(text)
    assert info.value.errors == [{"path": path, "reason": reason}]


def test_numbers_stay_allowed_where_the_field_holds_a_number() -> None:
    text = EXAMPLE.replace(
        "op: range\n      value: {min: 10, max: 49}", "op: equals\n      value: 49"
    ).replace("{min: 50, max: 5000}", "{min: 50.5, max: 5000}")
    agreement = load_agreement(text)
    assert [r.value for r in agreement.fit.rules[:2]] == [{"min": 50.5, "max": 5000}, 49]


def test_text_is_refused_where_the_field_holds_a_number() -> None:
    text = EXAMPLE.replace(
        "op: range\n      value: {min: 10, max: 49}", 'op: one_of\n      value: ["49"]'
    )
    with pytest.raises(AgreementInvalid) as info:
        load_agreement(text)
    assert [e["path"] for e in info.value.errors] == ["fit.rules[1].value[0]"]


def test_the_example_and_its_deployed_copy_load_with_norway_as_text() -> None:
    for text in (EXAMPLE, DEPLOYED.read_text()):
        rules = {r.id: r for r in load_agreement(text).fit.rules}
        assert "NO" in rules["territory"].value
