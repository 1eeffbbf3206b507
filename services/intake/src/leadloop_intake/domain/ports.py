"""What intake's handlers need from storage; `adapters` implements it on Postgres, unit tests
in memory."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from leadloop_events.envelope import CloudEvent
from leadloop_events.intake import LeadProfile

PROFILE_FIELDS = (
    "first_name",
    "last_name",
    "company",
    "job_title",
    "company_size",
    "industry",
    "country",
    "phone",
)


@dataclass(frozen=True)
class LeadIdentity:
    lead_id: str
    erased_at: datetime | None


@dataclass(frozen=True)
class StoredAnswer:
    """The first answer given under an idempotency key."""

    fingerprint: str
    status_code: int
    response: dict[str, Any]


class IntakeRepository(Protocol):
    async def upsert_leads(
        self, rows: Sequence[dict[str, Any]], now: datetime
    ) -> dict[str, tuple[str, bool, LeadProfile]]: ...

    async def insert_submissions(self, rows: Sequence[dict[str, Any]]) -> None: ...

    async def insert_activities(self, rows: Sequence[dict[str, Any]]) -> None: ...

    async def find_leads(
        self, lead_ids: Sequence[str], emails_normalized: Sequence[str]
    ) -> tuple[set[str], dict[str, str]]: ...

    async def lock_lead(self, lead_id: str) -> LeadIdentity | None: ...

    async def erase_lead(self, lead_id: str, now: datetime) -> None: ...

    async def claim_idempotency_key(
        self, caller: str, scope: str, key: str, fingerprint: str, now: datetime, ttl: timedelta
    ) -> StoredAnswer | None: ...

    async def store_idempotent_response(
        self,
        caller: str,
        scope: str,
        key: str,
        status_code: int,
        response: dict[str, Any],
        lead_id: str | None,
    ) -> None: ...


class IntakeUnitOfWork(Protocol):
    """The transaction a handler works in: state through `repo`, events through `publish`."""

    repo: IntakeRepository

    def publish(self, topic: str, event: CloudEvent) -> None: ...

    async def commit(self) -> None: ...
