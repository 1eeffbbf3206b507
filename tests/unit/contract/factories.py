"""Readable test data for the contract: the example agreement, and variants of it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from leadloop_contract.agreement import EXAMPLE_FILE, Agreement, load_agreement

NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
AGREEMENT = load_agreement(EXAMPLE_FILE.read_text())


def agreement_with(**changes: Any) -> Agreement:
    """The example agreement with top-level sections replaced or deep-updated."""
    document = AGREEMENT.model_dump(mode="json")
    for path, value in changes.items():
        target = document
        *parents, leaf = path.split("__")
        for key in parents:
            target = target[key]
        target[leaf] = value
    return Agreement.model_validate(document)
