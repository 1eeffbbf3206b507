"""What intake is asked to do (commands) and what it answers."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from leadloop_intake.domain.model import Activity, Channel, FormSubmission


@dataclass(frozen=True)
class CaptureLead:
    """Accept one form fill (or webhook call, or import row) for a person."""

    submission: FormSubmission
    channel: Channel
    raw: str
    received_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    correlation_id: str | None = None
    import_id: str | None = None
    """The CSV import the row came from: its lead.captured event names it."""


@dataclass(frozen=True)
class Captured:
    """The lead a capture went to and the submission it kept."""

    lead_id: str
    submission_id: str
    is_new_lead: bool


@dataclass(frozen=True)
class ImportLeads:
    """One batch of a CSV import: its good rows captured, its bad rows counted."""

    import_id: str
    rows: Sequence[CaptureLead]
    rejected: int
    source: str | None
    campaign: str | None
    received_at: datetime
    last: bool
    """The file's last batch: the import is finished when it commits."""
    errors: Sequence[dict[str, Any]] = ()
    """The batch's rejected rows to keep in the import's record ({"line", "errors"})."""
    last_line: int | None = None
    """The file's line of the batch's last row (None: no row)."""


@dataclass(frozen=True)
class FailImport:
    """A background import stopped before its last batch: its record says why."""

    import_id: str
    failure: str


@dataclass(frozen=True)
class FollowImport:
    """Read an import's state; one whose writer stopped (no batch for `stale_after`) fails."""

    import_id: str
    now: datetime
    stale_after: timedelta


@dataclass(frozen=True)
class RecordActivities:
    """Attach behaviour signals to known leads, all or none."""

    activities: Sequence[Activity]
    correlation_id: str | None = None


@dataclass(frozen=True)
class EraseLead:
    """Forget a person (GDPR), here and in every service."""

    lead_id: str
    reason: str | None = None
    correlation_id: str | None = None
