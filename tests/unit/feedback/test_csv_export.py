"""Report CSV exports: a name a spreadsheet would run as a formula comes out inert."""

from __future__ import annotations

import csv
import io

import pytest

from leadloop_feedback.entrypoints.reports_http import to_csv

FORMULAS = ['=HYPERLINK("http://x","y")', "+1+1", "-2+3", "@SUM(A1)", "\tTAB", "\rCR"]


@pytest.mark.parametrize("name", FORMULAS)
def test_formula_names_are_prefixed_with_a_quote(name: str) -> None:
    text = to_csv([{"group": name, "won_revenue": -12.5, "counts": {name: 1}}])
    header, row = list(csv.reader(io.StringIO(text)))
    assert row[0] == "'" + name
    assert "'counts." + name not in header and f"counts.{name}" in header  # dotted: safe start
    assert row[header.index("won_revenue")] == "-12.5"  # a number stays a number


def test_a_header_that_starts_like_a_formula_is_inert() -> None:
    text = to_csv([{"=cmd": 1, "group": "webinar"}])
    header, row = list(csv.reader(io.StringIO(text)))
    assert header == ["group", "'=cmd"] and row == ["webinar", "1"]


def test_plain_text_and_negative_numbers_are_unchanged() -> None:
    text = to_csv([{"group": "q4-webinar", "roi": -0.4, "n": -3}])
    assert list(csv.reader(io.StringIO(text)))[1] == ["q4-webinar", "-3", "-0.4"]
