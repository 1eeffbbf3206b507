"""CSV lead lists (trade-show lists, purchased lists): header mapping and per-row validation."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

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


def parse(lines: Iterable[str], *, source: str | None, campaign: str | None) -> Iterator[Row]:
    """Yield each data row validated; a missing email column fails the whole file."""
    reader = csv.reader(lines)
    header = next(reader, None)
    if header is None:
        raise ValueError("the file is empty; the first line must name the columns")
    if any("\x00" in h for h in header):
        raise ValueError("the header holds a NUL character")
    columns = [ALIASES.get(h.strip().lower(), h.strip()) for h in header]
    if "email" not in columns:
        raise ValueError(f"no email column among {header}")
    while True:
        try:
            values = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield Row(
                reader.line_num, {}, None, [{"field": "row", "code": "csv", "message": str(exc)}]
            )
            continue
        line = reader.line_num
        if not any(v.strip() for v in values):
            continue
        raw = dict(zip(header, values, strict=False))
        if len(values) != len(columns):
            yield Row(
                line,
                raw,
                None,
                [
                    {
                        "field": "row",
                        "code": "column_count",
                        "message": f"{len(values)} values for {len(columns)} columns",
                    }
                ],
            )
            continue
        if any("\x00" in v for v in values):
            # PostgreSQL cannot store a NUL character: refuse the row, not the whole batch.
            yield Row(
                line,
                {},
                None,
                [{"field": "row", "code": "nul", "message": "the row holds a NUL character"}],
            )
            continue
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
            yield Row(line, raw, FormSubmission.model_validate(form), [])
        except ValidationError as exc:
            errors = [
                {
                    "field": ".".join(str(p) for p in e["loc"]) or "row",
                    "code": e["type"],
                    "message": e["msg"],
                }
                for e in exc.errors(include_url=False)
            ]
            yield Row(line, raw, None, errors)


def raw_json(row: Row) -> str:
    """The row as it was in the file, kept verbatim per column."""
    return json.dumps(row.raw, ensure_ascii=False)
