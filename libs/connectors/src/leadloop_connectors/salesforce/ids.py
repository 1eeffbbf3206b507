"""Salesforce record and organisation ids: 15 characters, case-sensitive, or the same 15 with
a 3-character case-insensitive suffix (18 characters). Both forms name the same record, so
they compare on their first 15 characters."""

from __future__ import annotations

import re

_ID = re.compile(r"[a-zA-Z0-9]{15}(?:[a-zA-Z0-9]{3})?")


def is_salesforce_id(value: str) -> bool:
    """True for a 15- or 18-character Salesforce id."""
    return _ID.fullmatch(value) is not None


def same_id(a: str, b: str) -> bool:
    """True when two 15- or 18-character ids name the same record (or organisation)."""
    if not (is_salesforce_id(a) and is_salesforce_id(b)):
        return False
    return a[:15] == b[:15]
