"""What intake's handlers need from storage: `adapters` implements it on Postgres, the unit
tests in memory (tests/unit/intake/fakes.py)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from leadloop_events.envelope import CloudEvent
from leadloop_intake.domain.lead import (
    PROFILE_FIELDS,
    ImportProgress,
    ImportStatus,
    Lead,
    LeadDetails,
    RecordedActivity,
    Submission,
    Upserted,
)

__all__ = ["PROFILE_FIELDS", "IntakeUnitOfWork", "Repository", "StoredAnswer"]


@dataclass(frozen=True)
class StoredAnswer:
    """The first answer given under an idempotency key."""

    fingerprint: str
    status_code: int
    response: dict[str, Any]


class Repository(Protocol):
    """Intake's state inside one transaction, as domain objects."""

    async def upsert_leads(self, candidates: Sequence[Lead], now: datetime) -> dict[str, Upserted]:
        """Insert or merge each lead by normalized email, linking its external ids (the latest
        wins); email_normalized -> the result, with every external id the lead has."""
        ...

    async def capture(self, candidate: Lead, kept: Submission, now: datetime) -> Upserted:
        """upsert_leads of one lead that brings no external id, and its submission kept under
        the merged lead's id (whatever lead_id `kept` names)."""
        ...

    async def find_by_external_ids(
        self, pairs: Sequence[tuple[str, str]]
    ) -> dict[tuple[str, str], Lead]:
        """(system, id) -> the live lead it identifies."""
        ...

    async def readdress(self, lead_id: str, email: str, email_normalized: str) -> bool:
        """Give the lead a new email unless another lead has it; whether it did."""
        ...

    async def insert_submissions(self, kept: Sequence[Submission]) -> None:
        """Keep the raw submissions."""
        ...

    async def insert_activities(self, recorded: Sequence[RecordedActivity]) -> None:
        """Keep the activities."""
        ...

    async def find_leads(
        self, lead_ids: Sequence[str], emails_normalized: Sequence[str]
    ) -> tuple[set[str], dict[str, str]]:
        """Live leads among `lead_ids`, and email_normalized -> lead_id of live leads."""
        ...

    async def lock_lead(self, lead_id: str) -> Lead | None:
        """The lead, locked until the transaction ends."""
        ...

    async def erase_lead(self, lead_id: str, now: datetime) -> None:
        """Forget the person: identity, raw submissions, activity details, relayed events."""
        ...

    async def lead_details(self, lead_id: str) -> LeadDetails | None:
        """The lead and its latest submissions."""
        ...

    async def record_import(self, progress: ImportProgress) -> bool:
        """Add a batch's counts to its import's record (created by the first batch); False,
        and nothing changed, when the import already failed."""
        ...

    async def fail_stale_import(self, seen: ImportStatus, failure: str) -> bool:
        """Fail the import as `seen`, unless a batch was written since (its writer lives)."""
        ...

    async def import_status(self, import_id: str) -> ImportStatus | None:
        """The import's record as it stands."""
        ...

    async def claim_idempotency_key(
        self, caller: str, scope: str, key: str, fingerprint: str, now: datetime, ttl: timedelta
    ) -> StoredAnswer | None:
        """Reserve the caller's key; the stored answer when it was used within `ttl`."""
        ...

    async def store_idempotent_response(
        self,
        caller: str,
        scope: str,
        key: str,
        status_code: int,
        response: dict[str, Any],
        lead_id: str | None,
    ) -> None:
        """The answer to give again under the key."""
        ...


class IntakeUnitOfWork(Protocol):
    """The transaction a handler works in: state through `repo`, events through `publish`.

    The runtime commits it (`Transactions.run`); handlers never do.
    """

    @property
    def repo(self) -> Repository:
        """Intake's repository on this transaction."""
        ...

    def publish(self, topic: str, event: CloudEvent) -> None:
        """Record an event, written to the outbox at commit."""
        ...
