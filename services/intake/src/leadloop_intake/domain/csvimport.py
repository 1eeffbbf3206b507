"""CSV lead lists (trade-show lists, purchased lists): header mapping and per-row validation."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from leadloop_intake.domain.csvlines import BoundedLines, RowTooLong
from leadloop_intake.domain.model import FormSubmission

ALIASES = {
    "email": "email",
    "e-mail": "email",
    "email address": "email",
    "email_address": "email",
    "first_name": "first_name",
    "first name": "first_name",
    "firstname": "first_name",
    "last_name": "last_name",
    "last name": "last_name",
    "lastname": "last_name",
    "company": "company",
    "company name": "company",
    "organization": "company",
    "job_title": "job_title",
    "job title": "job_title",
    "title": "job_title",
    "company_size": "company_size",
    "employees": "company_size",
    "company size": "company_size",
    "industry": "industry",
    "country": "country",
    "phone": "phone",
    "source": "source",
    "campaign": "campaign",
    "consent": "consent",
}
MAX_ERRORS_REPORTED = 1000
MAX_COLUMNS = 200
"""Columns of a lead list read; a wider header refuses the file, a wider row is reported."""


@dataclass(frozen=True)
class Row:
    """A data row: its line number in the file and either a submission or its errors."""

    line: int
    raw: dict[str, str]
    submission: FormSubmission | None
    errors: list[dict[str, Any]]


def _coerce(field: str, value: str) -> Any:
    if field == "company_size":
        digits = value.replace(",", "").strip()
        return int(digits) if digits.isdigit() else value
    if field == "consent":
        return value.strip().lower() in {"1", "true", "yes", "y", "x"}
    return value


def _problem(line: int, code: str, message: str) -> Row:
    return Row(line, {}, None, [{"field": "row", "code": code, "message": message}])


def parse(lines: BoundedLines, *, source: str | None, campaign: str | None) -> Iterator[Row]:
    """Yield each data row validated; a missing email column fails the whole file. A row too
    long or too wide is reported by its line and skipped, and the rows after it go on."""
    reader = csv.reader(lines)
    try:
        header = next(reader, None)
    except RowTooLong as exc:
        raise ValueError(f"the header line is longer than {lines.max_bytes} bytes") from exc
    columns = _columns(header)
    while True:
        lines.start_record()
        try:
            values = next(reader)
        except StopIteration:
            return
        except RowTooLong as exc:
            yield _problem(exc.line, "row_too_long", str(exc))
            continue
        except csv.Error as exc:
            yield _problem(lines.line, "csv", str(exc))
            continue
        row = _row(lines.line, header or [], columns, values, source, campaign)
        if row is not None:
            yield row


def _columns(header: list[str] | None) -> list[str]:
    """The field each column fills; ValueError when the header makes the file unreadable."""
    if header is None:
        raise ValueError("the file is empty; the first line must name the columns")
    if len(header) > MAX_COLUMNS:
        raise ValueError(f"the header names {len(header)} columns; at most {MAX_COLUMNS} are read")
    if any("\x00" in h for h in header):
        raise ValueError("the header holds a NUL character")
    columns = [ALIASES.get(h.strip().lower(), h.strip()) for h in header]
    if "email" not in columns:
        raise ValueError(f"no email column among {header}")
    return columns


def _row(
    line: int,
    header: list[str],
    columns: list[str],
    values: list[str],
    source: str | None,
    campaign: str | None,
) -> Row | None:
    """One data row validated (None for a blank one)."""
    if len(values) > MAX_COLUMNS:
        return _problem(
            line, "too_many_columns", f"{len(values)} values; at most {MAX_COLUMNS} are read"
        )
    if not any(v.strip() for v in values):
        return None
    raw = dict(zip(header, values, strict=False))
    if len(values) != len(columns):
        message = f"{len(values)} values for {len(columns)} columns"
        return Row(line, raw, None, [{"field": "row", "code": "column_count", "message": message}])
    if any("\x00" in v for v in values):
        # PostgreSQL cannot store a NUL character: refuse the row, not the whole batch.
        return _problem(line, "nul", "the row holds a NUL character")
    form: dict[str, Any] = {"fields": {}}
    for column, value in zip(columns, values, strict=True):
        if value.strip() == "":
            continue
        if column in ALIASES.values():
            form[column] = _coerce(column, value)
        else:
            form["fields"][column] = value
    form.setdefault("source", source)
    form.setdefault("campaign", campaign)
    try:
        return Row(line, raw, FormSubmission.model_validate(form), [])
    except ValidationError as exc:
        errors = [
            {
                "field": ".".join(str(p) for p in e["loc"]) or "row",
                "code": e["type"],
                "message": e["msg"],
            }
            for e in exc.errors(include_url=False)
        ]
        return Row(line, raw, None, errors)


def raw_json(row: Row) -> str:
    """The row as it was in the file, kept verbatim per column."""
    return json.dumps(row.raw, ensure_ascii=False)
