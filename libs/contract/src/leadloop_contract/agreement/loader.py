"""Loading an agreement from YAML (every error named with its path), its checksum, its size
limit and its JSON Schema.

python -m leadloop_contract.agreement --schema   # regenerate agreement.schema.json
"""

from __future__ import annotations

import hashlib
import json
import math
from datetime import date, datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from leadloop_contract.agreement.model import Agreement
from leadloop_contract.agreement.yaml_safe import YamlRefused, read_yaml, written_at

SCHEMA_FILE = Path(__file__).resolve().parent / "agreement.schema.json"
EXAMPLE_FILE = Path(__file__).resolve().parent / "agreement.example.yaml"
MAX_DOCUMENT_BYTES = 256 * 1024
"""The agreement as compact JSON: it travels whole in `leadloop.agreement.published.v1`, and
stays far under the broker's record limit."""


class AgreementInvalid(ValueError):
    """The file is not a valid agreement; `errors` lists every problem with its path."""

    def __init__(self, errors: list[dict[str, str]]) -> None:
        super().__init__("; ".join(f"{e['path']}: {e['reason']}" for e in errors))
        self.errors = errors


def _path(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if part == "[key]":  # pydantic's marker for "the key itself is invalid"
            continue
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(document)"


def _error_path(error: ErrorDetails, text: str) -> str:
    """Where the error is; a bad key is named as written (`interest.bands.on`, not `[1]`)."""
    loc = tuple(error["loc"])
    if loc[-1:] != ("[key]",) or len(loc) < 2:
        return _path(loc)
    key = written_at(text, loc) or str(loc[-2])
    return f"{_path(loc[:-2])}.{key}" if loc[:-2] else key


def _read_as(value: Any) -> str:
    """What YAML made of a bare word or number, in words."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, datetime):
        return "a date and time"
    if isinstance(value, date):
        return "a date"
    return f"the number {value}"


def _yaml_number(number: float) -> str:
    """`number` as YAML 1.1 reads it as a number (1e3 is text there; 1.0e+3 is not)."""
    if number.is_integer() and abs(number) < 1e15:
        return str(int(number))
    mantissa, exponent = f"{number:e}".split("e")
    mantissa = mantissa.rstrip("0")
    return f"{mantissa}0e{exponent}" if mantissa.endswith(".") else f"{mantissa}e{exponent}"


def _reason(error: ErrorDetails, text: str) -> str:
    """The error in words; where YAML 1.1 read a value as another type, what to write instead."""
    reason = error["msg"].removeprefix("Value error, ")
    value = error.get("input")
    written = written_at(text, error["loc"]) or str(value)
    if error["type"] == "string_type" and isinstance(value, bool | int | float | date):
        return f'write "{written}" in quotes: a bare {written} is read as {_read_as(value)}'
    if error["type"] in ("float_type", "int_type") and isinstance(value, bool):
        return f"must be a number: a bare {written} is read as {_read_as(value)}"
    if error["type"] in ("float_type", "int_type") and isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            return reason
        if math.isfinite(number):
            return f"must be a number: YAML 1.1 reads {value} as text; write {_yaml_number(number)}"
    return reason


def load_agreement(text: str) -> Agreement:
    """Parse and validate YAML; AgreementInvalid names every error and where it is."""
    try:
        document = read_yaml(text)
    except YamlRefused as exc:
        raise AgreementInvalid([{"path": exc.where, "reason": exc.reason}]) from exc
    if not isinstance(document, dict):
        raise AgreementInvalid([{"path": "(document)", "reason": "must be a YAML mapping"}])
    try:
        agreement = Agreement.model_validate(document)
    except ValidationError as exc:
        errors = [
            {"path": _error_path(e, text), "reason": _reason(e, text)}
            for e in exc.errors(include_url=False)
        ]
        raise AgreementInvalid(errors) from exc
    size = document_bytes(agreement)
    if size > MAX_DOCUMENT_BYTES:
        raise AgreementInvalid(
            [
                {
                    "path": "(document)",
                    "reason": f"is {size} bytes as JSON; at most {MAX_DOCUMENT_BYTES} are accepted",
                }
            ]
        )
    return agreement


def _canonical(agreement: Agreement) -> str:
    return json.dumps(agreement.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))


def document_bytes(agreement: Agreement) -> int:
    """The agreement's size as compact JSON, the measure MAX_DOCUMENT_BYTES bounds."""
    return len(_canonical(agreement).encode())


def checksum(agreement: Agreement) -> str:
    """sha256 of the canonical JSON of the agreement."""
    return hashlib.sha256(_canonical(agreement).encode()).hexdigest()


def agreement_json_schema() -> dict[str, Any]:
    """JSON Schema for editors (YAML language servers read it)."""
    schema = Agreement.model_json_schema()
    schema["$id"] = "https://leadloop.dev/schemas/agreement.json"
    schema["title"] = "leadloop agreement"
    return schema


def render_schema() -> str:
    """The JSON Schema file's text, as written to SCHEMA_FILE."""
    return json.dumps(agreement_json_schema(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
