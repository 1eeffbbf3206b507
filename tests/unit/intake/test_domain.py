"""Intake's pure rules: identity, validation, CSV rows."""

from __future__ import annotations

import io

import pytest
from pydantic import ValidationError

from leadloop_intake.domain import csvimport
from leadloop_intake.domain.csvlines import BoundedLines
from leadloop_intake.domain.model import Activity, FormSubmission, normalize_email


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("Ana.Lopez@ACME-Dental.com", "ana.lopez@acme-dental.com"),
        ("  ana@acme.com ", "ana@acme.com"),
        ("A.n.a+newsletter@googlemail.com", "ana@gmail.com"),
        ("ana+tag@acme.com", "ana+tag@acme.com"),
    ],
)
def test_normalized_email_is_the_identity_key(given: str, expected: str) -> None:
    assert normalize_email(given) == expected


def test_form_submission_names_every_bad_field() -> None:
    with pytest.raises(ValidationError) as info:
        FormSubmission.model_validate(
            {"email": "not-an-email", "country": "Germany", "company_size": -3, "colour": "red"}
        )
    fields = {e["loc"][0] for e in info.value.errors()}
    assert fields == {"email", "country", "company_size", "colour"}


def test_form_submission_normalizes_country_and_source() -> None:
    sub = FormSubmission.model_validate(
        {"email": "ana@acme.com", "country": "de", "source": "Paid Search"}
    )
    assert (sub.country, sub.source) == ("DE", "paid_search")


def test_activity_needs_exactly_one_identity() -> None:
    base = {"type": "page_view", "occurred_at": "2026-11-01T10:00:00Z"}
    with pytest.raises(ValidationError):
        Activity.model_validate(base)
    with pytest.raises(ValidationError):
        Activity.model_validate({**base, "lead_id": "x", "email": "ana@acme.com"})
    assert Activity.model_validate({**base, "email": "ana@acme.com"}).occurred_at.tzinfo


def lines(text: str) -> BoundedLines:
    """A CSV file's lines as an import reads them."""
    return BoundedLines(io.BytesIO(text.encode()))


def test_csv_rows_are_validated_one_by_one() -> None:
    text = lines(
        "Email,First Name,Company,Employees,Country,Booth\n"
        "ana@acme.com,Ana,ACME,120,DE,A12\n"
        "broken-email,Bo,Globex,50,US,B3\n"
        "\n"
        'cy@initech.com,"Cy, Jr.",Initech,"1,200",GB,C1\n'
        "dee@umbrella.com,Dee,Umbrella,10,ZZ,D4\n"
        "short,row\n"
    )
    rows = list(csvimport.parse(text, source="event", campaign="expo-2026"))
    good = [r for r in rows if r.submission]
    bad = {r.line: r.errors for r in rows if not r.submission}
    assert [r.submission.email for r in good if r.submission] == ["ana@acme.com", "cy@initech.com"]
    assert good[1].submission is not None and good[1].submission.company_size == 1200
    assert good[0].submission is not None and good[0].submission.fields == {"Booth": "A12"}
    assert good[0].submission.source == "event"
    assert set(bad) == {3, 6, 7}
    assert bad[3][0]["field"] == "email"
    assert bad[6][0]["field"] == "country"


def test_csv_without_email_column_is_refused() -> None:
    with pytest.raises(ValueError, match="no email column"):
        list(csvimport.parse(lines("name,company\nAna,ACME\n"), source=None, campaign=None))
