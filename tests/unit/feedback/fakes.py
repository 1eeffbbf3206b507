"""In-memory fakes of feedback's repository and unit of work, for handler tests."""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Awaitable, Callable, Collection, Mapping
from datetime import datetime
from typing import Any, TypeVar

from leadloop_contract.agreement import Agreement
from leadloop_contract.values import Stage
from leadloop_feedback.domain.crm import Campaign, CrmContext, Earlier, Handoffs, Item, Kind
from leadloop_feedback.domain.identity import IdentityKind
from leadloop_feedback.domain.read_model import (
    Capture,
    DealFact,
    Handoff,
    JourneyLine,
    ProjectedLead,
    PublishedAgreement,
    Reassignment,
    Scores,
    StageEntry,
    StatusFact,
    TouchFact,
)
from tests.unit.fakes import FakeUnitOfWork as BaseFakeUnitOfWork

R = TypeVar("R")


class FakeRepository:
    """Feedback's tables as dicts keyed like their primary keys."""

    def __init__(self) -> None:
        self.leads: dict[str, ProjectedLead] = {}
        self.stage_entries: dict[str, StageEntry] = {}
        self.handoffs_by_id: dict[str, Handoff] = {}
        self.breaches: dict[str, int] = {}
        self.reassignments: dict[str, int] = {}
        self.reps: set[str] = set()
        self.rep_names: dict[str, str] = {}
        self.touches: dict[str, TouchFact] = {}
        self.statuses: dict[str, StatusFact] = {}
        self.deals: dict[str, DealFact] = {}
        self.agreements: dict[str, PublishedAgreement] = {}
        self.journey: dict[str, JourneyLine] = {}
        self.requests: dict[tuple[str, str], dict[str, Any]] = {}
        self.campaigns: dict[str, Campaign] = {}
        # (kind, value) -> (lead or rep id, seen_at), as the identity tables
        self.lead_identities: dict[tuple[str, str], tuple[str, datetime]] = {}
        self.rep_identities: dict[tuple[str, str], tuple[str, datetime]] = {}

    def _set(self, lead_id: str, **values: Any) -> None:
        lead = self.leads.get(lead_id) or ProjectedLead(lead_id)
        self.leads[lead_id] = dataclasses.replace(lead, **values)

    async def lead(self, lead_id: str) -> ProjectedLead | None:
        return self.leads.get(lead_id)

    async def capture(self, capture: Capture) -> None:
        lead = self.leads.get(capture.lead_id) or ProjectedLead(capture.lead_id)
        seen = [t for t in (lead.first_seen_at, capture.first_seen_at) if t is not None]
        self._set(
            capture.lead_id,
            source=lead.source or capture.source,
            campaign=lead.campaign or capture.campaign,
            first_seen_at=min(seen),
        )
        if capture.campaign:
            await self.add_campaign(capture.lead_id, capture.campaign)

    async def add_campaign(self, lead_id: str, campaign: str) -> None:
        known = self.leads.get(lead_id) or ProjectedLead(lead_id)
        if campaign not in known.campaigns:
            self._set(lead_id, campaigns=(*known.campaigns, campaign))

    async def erase(self, lead_id: str) -> None:
        self._set(lead_id, erased=True)
        for key, deal in self.deals.items():
            if deal.lead_id == lead_id:
                self.deals[key] = dataclasses.replace(deal, reason=None)
        for request in self.requests.values():
            if request["lead_id"] == lead_id:
                request["body"] = {"erased": True}

    async def set_scores(self, lead_id: str, scores: Scores) -> None:
        self._set(lead_id, **vars(scores))

    async def add_stage_entry(self, entry: StageEntry) -> None:
        self.stage_entries.setdefault(entry.event_id, entry)
        self._set(entry.lead_id, stage=entry.to_stage)

    async def know_reps(
        self, rep_ids: Collection[str], at: datetime, names: Mapping[str, str] | None = None
    ) -> None:
        self.reps.update(rep_ids)
        self.rep_names.update({r: n for r, n in (names or {}).items() if r in rep_ids})

    async def add_handoff(self, handoff: Handoff) -> None:
        self.handoffs_by_id.setdefault(handoff.assignment_id, handoff)

    async def reassign(self, reassignment: Reassignment) -> None:
        found = self.handoffs_by_id.get(reassignment.assignment_id)
        if found is not None:
            self.handoffs_by_id[found.assignment_id] = dataclasses.replace(
                found, rep_id=reassignment.rep_id, sla_deadline=reassignment.sla_deadline
            )
            self.reassignments[found.assignment_id] = (
                self.reassignments.get(found.assignment_id, 0) + 1
            )

    async def count_breach(self, assignment_id: str) -> None:
        if assignment_id in self.handoffs_by_id:
            self.breaches[assignment_id] = self.breaches.get(assignment_id, 0) + 1

    async def add_touch(self, touch: TouchFact) -> None:
        self.touches.setdefault(touch.crm_event_id, touch)

    async def add_status(self, status: StatusFact) -> None:
        self.statuses.setdefault(status.crm_event_id, status)

    async def add_deal(self, deal: DealFact) -> None:
        self.deals.setdefault(deal.crm_event_id, deal)

    async def save_agreement(self, published: PublishedAgreement) -> None:
        self.agreements.setdefault(published.version, published)

    async def add_journey_line(self, line: JourneyLine) -> None:
        self.journey.setdefault(line.event_id, line)

    async def forget_journey(self, lead_id: str) -> None:
        self.journey = {k: v for k, v in self.journey.items() if v.lead_id != lead_id}

    async def know_lead_identities(
        self, lead_id: str, identities: Collection[tuple[IdentityKind, str]], at: datetime
    ) -> None:
        lead = self.leads.get(lead_id)
        if not (lead is not None and lead.erased):
            _know(self.lead_identities, lead_id, identities, at)

    async def know_rep_identities(
        self, rep_id: str, identities: Collection[tuple[IdentityKind, str]], at: datetime
    ) -> None:
        _know(self.rep_identities, rep_id, identities, at)

    async def forget_lead_identities(self, lead_id: str) -> None:
        self.lead_identities = {k: v for k, v in self.lead_identities.items() if v[0] != lead_id}

    async def find_lead(self, kind: IdentityKind, value: str) -> str | None:
        found = self.lead_identities.get((kind, value))
        if found is None:
            return None
        lead = self.leads.get(found[0])
        return None if lead is not None and lead.erased else found[0]

    async def find_rep(self, kind: IdentityKind, value: str) -> str | None:
        found = self.rep_identities.get((kind, value))
        return None if found is None else found[0]

    async def claim_request(self, kind: Kind, item: Item, now: datetime, event_id: str) -> bool:
        if (kind, item.crm_event_id) in self.requests:
            return False
        self.requests[(kind, item.crm_event_id)] = {
            "event_id": event_id,
            "lead_id": item.lead,
            "body": item.facts(json=True),
        }
        return True

    async def earlier_request(self, kind: Kind, crm_event_id: str) -> Earlier:
        request = self.requests[(kind, crm_event_id)]
        return Earlier(request["event_id"], request["body"])

    async def crm_context(
        self, lead_ids: Collection[str], touched: Collection[str], rep_ids: Collection[str]
    ) -> CrmContext:
        handoffs = await self.handoffs(touched, rep_ids)
        return CrmContext(await self.stages(lead_ids), handoffs, await self.current_agreement())

    async def stages(self, lead_ids: Collection[str]) -> dict[str, Stage]:
        return {
            i: lead.stage
            for i in lead_ids
            if (lead := self.leads.get(i)) is not None and not lead.erased
        }

    async def handoffs(self, lead_ids: Collection[str], rep_ids: Collection[str]) -> Handoffs:
        handed = {h.lead_id for h in self.handoffs_by_id.values()}
        return Handoffs(set(lead_ids) & handed, set(rep_ids) & self.reps)

    async def current_agreement(self) -> Agreement | None:
        newest = max(self.agreements.values(), key=lambda a: a.published_at, default=None)
        return newest.agreement if newest else None

    async def decide_stage(self, lead_id: str, stage: Stage, now: datetime) -> None:
        self._set(lead_id, stage=stage)

    async def save_campaign(self, campaign: Campaign) -> None:
        self.campaigns[campaign.campaign_id] = campaign


def _know(
    index: dict[tuple[str, str], tuple[str, datetime]],
    owner: str,
    identities: Collection[tuple[IdentityKind, str]],
    at: datetime,
) -> None:
    """Each value names `owner` unless a later event named another (latest wins)."""
    for key in identities:
        known = index.get(key)
        if known is None or known[1] <= at:
            index[key] = (owner, at)


class FakeUnitOfWork(BaseFakeUnitOfWork[FakeRepository]):
    """The shared fake unit of work, with `run`: it keeps what a handler did when it returns
    (its events committed), and nothing of it when it raises, as `Transactions.run` does."""

    def __init__(self, repo: FakeRepository | None = None) -> None:
        super().__init__(repo or FakeRepository())

    async def run(self, handler: Callable[..., Awaitable[R]], *args: Any) -> R:
        """`handler(self, *args)` as one transaction: all of it kept, or none of it."""
        before = copy.deepcopy(vars(self.repo))
        try:
            result = await handler(self, *args)
        except BaseException:
            self.repo.__dict__.update(before)
            self.pending = []
            raise
        await self.commit()
        return result
