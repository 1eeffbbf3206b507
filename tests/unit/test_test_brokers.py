"""LEADLOOP_TEST_BROKERS: which brokers the tests marked both_brokers run on."""

from __future__ import annotations

import pytest

from ..brokers import chosen_kinds


def test_both_brokers_by_default_tansu_first() -> None:
    assert chosen_kinds({}) == ("tansu", "kafka")
    assert chosen_kinds({"LEADLOOP_TEST_BROKERS": " kafka , tansu"}) == ("tansu", "kafka")


def test_one_broker_when_named() -> None:
    assert chosen_kinds({"LEADLOOP_TEST_BROKERS": "tansu"}) == ("tansu",)
    assert chosen_kinds({"LEADLOOP_TEST_BROKERS": "kafka"}) == ("kafka",)


@pytest.mark.parametrize("value", ["", "kafak", "tansu,embedded"])
def test_other_names_are_refused(value: str) -> None:
    with pytest.raises(ValueError, match="LEADLOOP_TEST_BROKERS"):
        chosen_kinds({"LEADLOOP_TEST_BROKERS": value})
