"""The bounds on event data, defined in the contract (leadloop_contract.bounds) and named here
too for the modules that read them as event bounds."""

from leadloop_contract.bounds import (
    MAX_DEPTH,
    MAX_EMAIL,
    MAX_ITEMS,
    MAX_JSON_BYTES,
    MAX_NOTE,
    MAX_TEXT,
    MAX_URL,
    MAX_VALUES,
    Email,
    FreeForm,
    Note,
    Text,
    Url,
    bounded_json,
)

__all__ = [
    "MAX_DEPTH",
    "MAX_EMAIL",
    "MAX_ITEMS",
    "MAX_JSON_BYTES",
    "MAX_NOTE",
    "MAX_TEXT",
    "MAX_URL",
    "MAX_VALUES",
    "Email",
    "FreeForm",
    "Note",
    "Text",
    "Url",
    "bounded_json",
]
