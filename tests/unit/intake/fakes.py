"""In-memory fakes of intake's own adapters (its repository and unit of work), for handler tests."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from leadloop_intake.adapters.uow import SqlUnitOfWork
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
from leadloop_intake.domain.ports import StoredAnswer
from tests.unit.fakes import FakeUnitOfWork as BaseFakeUnitOfWork


class FakeRepository:
    """Intake's repository in memory: the same domain objects in, the same out."""

    def __init__(self) -> None:
        self.leads: dict[str, Lead] = {}
        self.submissions: list[Submission] = []
        self.activities: list[RecordedActivity] = []
        self.imports: dict[str, ImportProgress] = {}
        self.keys: dict[tuple[str, str, str], StoredAnswer] = {}
        self.claimed_at: dict[tuple[str, str, str], datetime] = {}
        self.identities: dict[tuple[str, str], str] = {}

    def _by_email(self, email_normalized: str | None) -> Lead | None:
        return next(
            (lead for lead in self.leads.values() if lead.email_normalized == email_normalized),
            None,
        )

    async def upsert_leads(self, candidates: Sequence[Lead], now: datetime) -> dict[str, Upserted]:
        out = {}
        for candidate in candidates:
            known = self._by_email(candidate.email_normalized)
            lead = candidate
            if known is not None:
                filled = {f: getattr(candidate, f) for f in PROFILE_FIELDS}
                lead = replace(
                    known,
                    email=candidate.email,
                    updated_at=now,
                    **{f: v for f, v in filled.items() if v is not None},
                )
            for system, external_id in candidate.external_ids.items():
                self.identities = {
                    k: v
                    for k, v in self.identities.items()
                    if not (v == lead.lead_id and k[0] == system)
                }
                self.identities[(system, external_id)] = lead.lead_id
            lead = replace(lead, external_ids=self._ids_of(lead.lead_id))
            self.leads[lead.lead_id] = lead
            assert candidate.email_normalized is not None
            out[candidate.email_normalized] = Upserted(lead, inserted=known is None)
        return out

    def _ids_of(self, lead_id: str) -> dict[Any, str]:
        return {system: i for (system, i), owner in self.identities.items() if owner == lead_id}

    async def find_by_external_ids(
        self, pairs: Sequence[tuple[str, str]]
    ) -> dict[tuple[str, str], Lead]:
        found = {p: self.leads[self.identities[p]] for p in pairs if p in self.identities}
        return {p: lead for p, lead in found.items() if lead.erased_at is None}

    async def readdress(self, lead_id: str, email: str, email_normalized: str) -> bool:
        if self._by_email(email_normalized) is not None:
            return False
        lead = self.leads[lead_id]
        self.leads[lead_id] = replace(lead, email=email, email_normalized=email_normalized)
        return True

    async def capture(self, candidate: Lead, kept: Submission, now: datetime) -> Upserted:
        assert not candidate.external_ids and candidate.email_normalized is not None
        upserted = (await self.upsert_leads([candidate], now))[candidate.email_normalized]
        self.submissions.append(replace(kept, lead_id=upserted.lead.lead_id))
        return upserted

    async def insert_submissions(self, kept: Sequence[Submission]) -> None:
        self.submissions.extend(kept)

    async def insert_activities(self, recorded: Sequence[RecordedActivity]) -> None:
        self.activities.extend(recorded)

    async def find_leads(
        self, lead_ids: Sequence[str], emails_normalized: Sequence[str]
    ) -> tuple[set[str], dict[str, str]]:
        live = {k: v for k, v in self.leads.items() if v.erased_at is None}
        ids = {i for i in lead_ids if i in live}
        by_email = {
            v.email_normalized: k
            for k, v in live.items()
            if v.email_normalized is not None and v.email_normalized in emails_normalized
        }
        return ids, by_email

    async def lock_lead(self, lead_id: str) -> Lead | None:
        return self.leads.get(lead_id)

    async def erase_lead(self, lead_id: str, now: datetime) -> None:
        self.identities = {k: v for k, v in self.identities.items() if v != lead_id}
        forgotten = dict.fromkeys(("first_name", "last_name", "company", "job_title", "phone"))
        self.leads[lead_id] = replace(
            self.leads[lead_id],
            email=None,
            email_normalized=None,
            erased_at=now,
            updated_at=now,
            **forgotten,
        )

    async def lead_details(self, lead_id: str) -> LeadDetails | None:
        lead = self.leads.get(lead_id)
        if lead is None:
            return None
        mine = [s for s in self.submissions if s.lead_id == lead_id]
        return LeadDetails(lead, sorted(mine, key=lambda s: s.received_at, reverse=True))

    async def record_import(self, progress: ImportProgress) -> bool:
        known = self.imports.get(progress.import_id)
        if known is not None:
            if known.failure is not None:
                return False
            progress = replace(
                known,
                rows_accepted=known.rows_accepted + progress.rows_accepted,
                rows_rejected=known.rows_rejected + progress.rows_rejected,
                new_leads=known.new_leads + progress.new_leads,
                errors=known.errors + progress.errors,
                finished_at=progress.finished_at,
                failure=progress.failure,
                updated_at=progress.updated_at or known.updated_at,
                last_line=progress.last_line or known.last_line,
            )
        self.imports[progress.import_id] = progress
        return True

    async def fail_stale_import(self, seen: ImportStatus, failure: str) -> bool:
        known = self.imports.get(seen.import_id)
        if known is None or known.failure is not None or known.finished_at is not None:
            return False
        if (known.updated_at, known.last_line) != (seen.updated_at, seen.last_line):
            return False
        self.imports[seen.import_id] = replace(known, failure=failure)
        return True

    async def import_status(self, import_id: str) -> ImportStatus | None:
        p = self.imports.get(import_id)
        if p is None:
            return None
        fields = {f: getattr(p, f) for f in ImportStatus.__dataclass_fields__}
        return ImportStatus(**fields)

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


class FakeUnitOfWork(BaseFakeUnitOfWork[FakeRepository]):
    """The shared fake unit of work; a commit calls intake's metrics, as the real one does."""

    observers = SqlUnitOfWork.observers

    def __init__(self, repo: FakeRepository | None = None) -> None:
        super().__init__(repo or FakeRepository())
