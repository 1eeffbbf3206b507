"""The writes of a re-scored lead, made at once for a batch: `BatchWrites` collects what each
lead's re-score writes and hands the batch to the repository's set-based statements."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from leadloop_scoring.adapters.repository import Repository
from leadloop_scoring.domain.lead import ScoredLead, StageMove


class Writes(Protocol):
    """Where a re-score writes: the repository itself, or a batch written at its end."""

    async def record_score(self, lead: ScoredLead, cause: str, at: datetime) -> None: ...
    async def record_stage(self, move: StageMove) -> None: ...
    async def save_lead(self, lead: ScoredLead, now: datetime) -> None: ...


@dataclass
class BatchWrites:
    """A batch's writes, in the order its leads made them; `flush` writes them set-based."""

    scores: list[tuple[ScoredLead, str, datetime]] = field(default_factory=list)
    stages: list[StageMove] = field(default_factory=list)
    leads: list[ScoredLead] = field(default_factory=list)
    now: datetime | None = None

    async def record_score(self, lead: ScoredLead, cause: str, at: datetime) -> None:
        """Keep the lead's score for the history (its score fields change no more this batch)."""
        self.scores.append((lead, cause, at))

    async def record_stage(self, move: StageMove) -> None:
        """Keep an applied move for the stage history."""
        self.stages.append(move)

    async def save_lead(self, lead: ScoredLead, now: datetime) -> None:
        """Keep the lead to be written with the batch."""
        self.leads.append(lead)
        self.now = now

    async def flush(self, repo: Repository) -> None:
        """One statement per table for the whole batch."""
        await repo.record_scores(self.scores)
        await repo.record_stages(self.stages)
        if self.now is not None:
            await repo.save_rescored(self.leads, self.now)
