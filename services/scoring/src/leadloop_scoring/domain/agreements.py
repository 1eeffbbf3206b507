"""A published agreement version as scoring keeps it, and what can go wrong publishing one."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class StoredAgreement:
    """One published version: its document (stored form), checksum and the YAML as sent."""

    version: str
    checksum: str
    document: dict[str, Any]
    source_yaml: str
    published_at: datetime


class NoAgreement(RuntimeError):
    """Scoring has no agreement yet (the service publishes one at start)."""


class VersionConflict(ValueError):
    """A different document was already published under this version."""
