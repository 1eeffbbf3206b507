"""In-memory fakes of intake's own adapters (its repository and unit of work), for handler tests."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, Self

from leadloop_events.envelope import CloudEvent
from leadloop_events.intake import LeadProfile
from leadloop_intake.domain.ports import PROFILE_FIELDS, LeadIdentity, StoredAnswer


class FakeRepository:
    def __init__(self) -> None:
        self.leads: dict[str, dict[str, Any]] = {}
        self.submissions: list[dict[str, Any]] = []
        self.activities: list[dict[str, Any]] = []
        self.keys: dict[tuple[str, str, str], StoredAnswer] = {}
        self.claimed_at: dict[tuple[str, str, str], datetime] = {}

    def _by_email(self, email_normalized: str) -> dict[str, Any] | None:
        return next(
            (lead for lead in self.leads.values() if lead["email_normalized"] == email_normalized),
            None,
        )

    async def upsert_leads(
        self, rows: Sequence[dict[str, Any]], now: datetime
    ) -> dict[str, tuple[str, bool, LeadProfile]]:
        out = {}
        for row in rows:
            lead = self._by_email(row["email_normalized"])
            inserted = lead is None
            if lead is None:
                lead = {
                    "lead_id": row["lead_id"],
                    "email_normalized": row["email_normalized"],
                    "erased_at": None,
                    **{f: None for f in PROFILE_FIELDS},
                }
                self.leads[row["lead_id"]] = lead
            lead["email"] = row["email"]
            for f in PROFILE_FIELDS:
                if row.get(f) is not None:
                    lead[f] = row[f]
            profile = LeadProfile(email=lead["email"], **{f: lead[f] for f in PROFILE_FIELDS})
            out[row["email_normalized"]] = (lead["lead_id"], inserted, profile)
        return out

    async def insert_submissions(self, rows: Sequence[dict[str, Any]]) -> None:
        self.submissions.extend(rows)

    async def insert_activities(self, rows: Sequence[dict[str, Any]]) -> None:
        self.activities.extend(rows)

    async def find_leads(
        self, lead_ids: Sequence[str], emails_normalized: Sequence[str]
    ) -> tuple[set[str], dict[str, str]]:
        live = {k: v for k, v in self.leads.items() if v["erased_at"] is None}
        ids = {i for i in lead_ids if i in live}
        by_email = {
            v["email_normalized"]: k
            for k, v in live.items()
            if v["email_normalized"] in emails_normalized
        }
        return ids, by_email

    async def lock_lead(self, lead_id: str) -> LeadIdentity | None:
        lead = self.leads.get(lead_id)
        return None if lead is None else LeadIdentity(lead_id, lead["erased_at"])

    async def erase_lead(self, lead_id: str, now: datetime) -> None:
        lead = self.leads[lead_id]
        lead.update(
            {f: None for f in PROFILE_FIELDS}, email=None, email_normalized=None, erased_at=now
        )

    async def claim_idempotency_key(
        self, caller: str, scope: str, key: str, fingerprint: str, now: datetime, ttl: timedelta
    ) -> StoredAnswer | None:
        self.keys = {k: v for k, v in self.keys.items() if self.claimed_at[k] >= now - ttl}
        if (caller, scope, key) in self.keys:
            return self.keys[(caller, scope, key)]
        self.keys[(caller, scope, key)] = StoredAnswer(fingerprint, 0, {})
        self.claimed_at[(caller, scope, key)] = now
        return None

    async def store_idempotent_response(
        self,
        caller: str,
        scope: str,
        key: str,
        status_code: int,
        response: dict[str, Any],
        lead_id: str | None,
    ) -> None:
        fingerprint = self.keys[(caller, scope, key)].fingerprint
        self.keys[(caller, scope, key)] = StoredAnswer(fingerprint, status_code, response)


class FakeUnitOfWork:
    """Collects published events; `committed` holds what the last commit wrote."""

    def __init__(self, repo: FakeRepository | None = None) -> None:
        self.repo = repo or FakeRepository()
        self.pending: list[tuple[str, CloudEvent]] = []
        self.committed: list[tuple[str, CloudEvent]] = []
        self.commits = 0

    async def __aenter__(self) -> Self:
        self.pending = []
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.pending = []

    def publish(self, topic: str, event: CloudEvent) -> None:
        self.pending.append((topic, event))

    async def commit(self) -> None:
        self.committed.extend(self.pending)
        self.pending = []
        self.commits += 1

    def types(self) -> list[str]:
        return [event.type for _, event in self.committed]
