"""In-memory fakes of scoring's own adapters (repository, unit of work), for handler tests."""

from __future__ import annotations

import copy
from dataclasses import dataclass, replace
from datetime import datetime

from leadloop_contract.bounds import MAX_ITEMS
from leadloop_events.envelope import CloudEvent
from leadloop_platform.http.paging import PageRequest
from leadloop_scoring.adapters.uow import SqlUnitOfWork
from leadloop_scoring.domain.agreements import StoredAgreement
from leadloop_scoring.domain.interest import ActivityFact
from leadloop_scoring.domain.lead import ScoredLead, StageMove
from tests.unit.fakes import FakeUnitOfWork as BaseFakeUnitOfWork
from tests.unit.fakes import paged


@dataclass(frozen=True)
class ScoreRow:
    """A score as the history keeps it."""

    lead: ScoredLead
    cause: str
    at: datetime


class FakeRepository:
    """Scoring's state in dicts; leads are copied in and out, as a database would."""

    def __init__(self) -> None:
        self.leads: dict[str, ScoredLead] = {}
        self.activities: dict[str, tuple[str, ActivityFact]] = {}
        self.scores: list[ScoreRow] = []
        self.stages: list[StageMove] = []
        self.agreements: list[tuple[StoredAgreement, str | None]] = []
        self.outbox: list[tuple[str, CloudEvent]] = []  # what committed units of work wrote
        self.documents_read = 0  # agreement documents handed out (current_agreement, agreement)
        self.claims: list[int] = []  # leads claimed by each claim_due_leads
        self.batch_reads = self.batch_writes = 0  # activities_of_leads, save_rescored calls
        self.run_reads = self.run_writes = 0  # leads_for_update, save_leads calls (event runs)

    async def lead_for_update(self, lead_id: str) -> ScoredLead | None:
        lead = self.leads.get(lead_id)
        if lead is None:
            return None
        loaded = copy.deepcopy(lead)
        loaded.sources, loaded.campaigns = lead.sources[-MAX_ITEMS:], lead.campaigns[-MAX_ITEMS:]
        return loaded

    async def save_lead(self, lead: ScoredLead, now: datetime) -> None:
        known = self.leads.get(lead.lead_id)
        sources = known.sources if known else []
        campaigns = known.campaigns if known else []
        saved = copy.deepcopy(lead)
        saved.stage_changed_at = lead.stage_changed_at or now
        saved.sources = sources + [s for s in lead.added_sources if s not in sources]
        saved.campaigns = campaigns + [c for c in lead.added_campaigns if c not in campaigns]
        saved.added_sources, saved.added_campaigns, saved.is_new = [], [], False
        self.leads[lead.lead_id] = saved
        lead.added_sources.clear()
        lead.added_campaigns.clear()

    async def add_activity(self, lead_id: str, activity_id: str, fact: ActivityFact) -> bool:
        if activity_id in self.activities:
            return False
        self.activities[activity_id] = (lead_id, fact)
        return True

    async def activities_of(self, lead_id: str, limit: int) -> list[ActivityFact]:
        mine = [fact for owner, fact in self.activities.values() if owner == lead_id]
        return sorted(mine, key=lambda f: f.occurred_at, reverse=True)[:limit]

    async def record_score(self, lead: ScoredLead, cause: str, at: datetime) -> None:
        self.scores.append(ScoreRow(copy.deepcopy(lead), cause, at))

    async def record_stage(self, move: StageMove) -> None:
        self.stages.append(move)

    async def erase(self, lead_id: str, at: datetime) -> None:
        lead = self.leads.get(lead_id) or ScoredLead(lead_id, stage_changed_at=at, captured_at=at)
        self.leads[lead_id] = replace(
            lead, profile=None, breakdown=[], external_ids={}, erased_at=at, next_rescore_at=None
        )
        for activity_id, (owner, fact) in self.activities.items():
            if owner == lead_id:
                self.activities[activity_id] = (owner, replace(fact, url=None))
        self.outbox[:] = [(t, e) for t, e in self.outbox if e.subject != lead_id]
        self.scores = [
            replace(row, lead=replace(row.lead, breakdown=[]))
            if row.lead.lead_id == lead_id
            else row
            for row in self.scores
        ]

    async def claim_due_leads(self, now: datetime, limit: int) -> list[ScoredLead]:
        due = [
            lead
            for lead in self.leads.values()
            if lead.next_rescore_at is not None
            and lead.next_rescore_at <= now
            and lead.erased_at is None
        ]
        due.sort(key=lambda lead: lead.next_rescore_at or now)
        self.claims.append(len(due[:limit]))
        return [copy.deepcopy(lead) for lead in due[:limit]]

    async def activities_of_leads(
        self, lead_ids: list[str], limit: int
    ) -> dict[str, list[ActivityFact]]:
        self.batch_reads += 1
        return {lead_id: await self.activities_of(lead_id, limit) for lead_id in lead_ids}

    async def record_scores(self, scores: list[tuple[ScoredLead, str, datetime]]) -> None:
        for lead, cause, at in scores:
            await self.record_score(lead, cause, at)

    async def record_stages(self, moves: list[StageMove]) -> None:
        self.stages.extend(moves)

    async def save_rescored(self, rescored: list[ScoredLead], now: datetime) -> None:
        self.batch_writes += 1
        for lead in rescored:
            assert not (lead.added_sources or lead.added_campaigns)
            await self.save_lead(lead, now)

    async def leads_for_update(self, lead_ids: list[str]) -> dict[str, ScoredLead]:
        self.run_reads += 1
        found = {lead_id: await self.lead_for_update(lead_id) for lead_id in sorted(lead_ids)}
        return {lead_id: lead for lead_id, lead in found.items() if lead is not None}

    async def add_activities(self, rows: list[tuple[str, str, ActivityFact]]) -> set[str]:
        return {a for lead_id, a, fact in rows if await self.add_activity(lead_id, a, fact)}

    async def save_leads(self, saved: list[tuple[ScoredLead, datetime]]) -> None:
        self.run_writes += 1
        for lead, now in sorted(saved, key=lambda pair: pair[0].lead_id):
            await self.save_lead(lead, now)

    async def schedule_rescore_all(self, now: datetime) -> int:
        live = [lead for lead in self.leads.values() if lead.erased_at is None]
        for lead in live:
            lead.next_rescore_at = now
        return len(live)

    async def current_agreement(self) -> StoredAgreement | None:
        if not self.agreements:
            return None
        self.documents_read += 1
        return max((a for a, _ in self.agreements), key=lambda a: a.published_at)

    async def current_version(self) -> tuple[str, str] | None:
        if not self.agreements:
            return None
        latest = max((a for a, _ in self.agreements), key=lambda a: a.published_at)
        return latest.version, latest.checksum

    async def agreement(self, version: str) -> StoredAgreement | None:
        found = next((a for a, _ in self.agreements if a.version == version), None)
        self.documents_read += found is not None
        return found

    async def agreement_versions(self, page: PageRequest) -> list[StoredAgreement]:
        versions = (a for a, _ in self.agreements)
        return paged(versions, lambda a: (a.published_at, a.version), page, descending=True)

    async def save_agreement(self, stored: StoredAgreement, published_by: str | None) -> bool:
        if await self.agreement(stored.version) is not None:
            return False
        self.agreements.append((stored, published_by))
        return True


class FakeUnitOfWork(BaseFakeUnitOfWork[FakeRepository]):
    """The shared fake unit of work whose commits write to the repository's outbox (where an
    erasure drops a lead's events) and call scoring's metrics, as the real one does."""

    observers = SqlUnitOfWork.observers

    def __init__(self, repo: FakeRepository | None = None) -> None:
        super().__init__(repo or FakeRepository())
        self.committed = self.repo.outbox  # the same list: every unit of work on it shares it
