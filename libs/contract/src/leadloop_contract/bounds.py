"""Bounds on free-form data, so that no event can outgrow what the broker takes.

Free-form JSON (a form's extra `fields`, an activity's `properties`) is accepted at the edge
only when it is shallow and small: every event it lands in must stay far under the broker's
record limit, and every consumer must be able to parse it (pydantic's JSON parser stops at a
nesting depth of about 200, so a deeper document would be refused by every reader).
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from pydantic import AfterValidator, StringConstraints

MAX_TEXT = 500
"""A name, company, title, source, campaign, asset or other short text."""
MAX_EMAIL = 320
"""An email address (RFC 5321: 64 + 1 + 255)."""
MAX_URL = 2_048
"""A URL."""
MAX_NOTE = 2_000
"""A free-text note or reason."""
MAX_ITEMS = 100
"""Items in a list an event carries (campaigns, sources, timeline entries, products)."""
MAX_DEPTH = 8
"""Containers nested inside a free-form object, the object itself counted."""
MAX_VALUES = 1_000
"""Keys, list items and scalars in one free-form object, all levels together."""
MAX_JSON_BYTES = 64 * 1024
"""A free-form object's size as compact JSON."""


def _walk(value: Any, depth: int, counted: list[int]) -> None:
    if depth > MAX_DEPTH:
        raise ValueError(f"nested deeper than {MAX_DEPTH} levels")
    counted[0] += 1
    if counted[0] > MAX_VALUES:
        raise ValueError(f"holds more than {MAX_VALUES} values")
    if isinstance(value, dict):
        for item in value.values():
            _walk(item, depth + 1, counted)
    elif isinstance(value, list):
        for item in value:
            _walk(item, depth + 1, counted)


def bounded_json(value: dict[str, Any]) -> dict[str, Any]:
    """`value` itself when it is within MAX_DEPTH, MAX_VALUES and MAX_JSON_BYTES."""
    _walk(value, 1, [0])
    size = len(json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str).encode())
    if size > MAX_JSON_BYTES:
        raise ValueError(f"is {size} bytes as JSON; at most {MAX_JSON_BYTES} are accepted")
    return value


FreeForm = Annotated[dict[str, Any], AfterValidator(bounded_json)]
"""A free-form JSON object, bounded in depth, count and size."""


Text = Annotated[str, StringConstraints(max_length=MAX_TEXT)]
Email = Annotated[str, StringConstraints(max_length=MAX_EMAIL)]
Url = Annotated[str, StringConstraints(max_length=MAX_URL)]
Note = Annotated[str, StringConstraints(max_length=MAX_NOTE)]
