"""The assignment: who owns an SQL, its first-touch deadline, and the SLA ladder it climbs."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from leadloop_events.lifecycle import LeadIntelligence
from leadloop_routing.domain.fields import fields_of
from leadloop_routing.domain.model import Decision, Skip

Status = Literal["open", "queued", "touched"]


@dataclass(frozen=True)
class HistoryEntry:
    """One line of an assignment's history: a ladder step, a reassignment, a stopped timer."""

    at: datetime
    event: str
    from_rep: str | None = None
    path: tuple[str, ...] | None = None

    def to_json(self) -> dict[str, Any]:
        """The stored form: `at` and `event`, plus `from_rep` and `path` on a reassignment."""
        out: dict[str, Any] = {"at": self.at.isoformat(), "event": self.event}
        if self.from_rep is not None:
            out["from_rep"] = self.from_rep
        if self.path is not None:
            out["path"] = list(self.path)
        return out

    @classmethod
    def from_json(cls, entry: dict[str, Any]) -> HistoryEntry:
        """Read a stored line back."""
        path = entry.get("path")
        return cls(
            datetime.fromisoformat(entry["at"]),
            entry["event"],
            entry.get("from_rep"),
            None if path is None else tuple(path),
        )


def decision_json(decision: Decision) -> dict[str, Any]:
    """The decision as stored with the assignment (the path it took, the reps skipped)."""
    return {
        "team": decision.team,
        "business": decision.business,
        "rep_id": decision.rep_id,
        "queue": decision.queue,
        "path": list(decision.path),
        "skipped": [{"rep_id": s.rep_id, "reason": s.reason} for s in decision.skipped],
    }


def decision_from_json(stored: dict[str, Any]) -> Decision:
    """A stored decision back as the domain's `Decision` (round-robin weights are not kept)."""
    return Decision(
        team=stored["team"],
        business=stored["business"],
        rep_id=stored.get("rep_id"),
        queue=stored.get("queue"),
        path=tuple(stored.get("path", ())),
        skipped=tuple(Skip(s["rep_id"], s["reason"]) for s in stored.get("skipped", ())),
    )


@dataclass
class Assignment:
    """An SQL's owner (or queue), its SLA deadline and timer, and what happened to it."""

    assignment_id: str
    lead_id: str
    team: str
    rep_id: str | None
    queue: str | None
    business: Literal["new", "existing"]
    status: Status
    agreement_version: str
    decision: Decision
    intelligence: LeadIntelligence | None
    captured_at: datetime | None
    assigned_at: datetime
    sla_deadline: datetime
    first_touch_at: datetime | None = None
    reassignments: int = 0
    timer_due_at: datetime | None = None
    timer_step: int = 0
    history: list[HistoryEntry] = field(default_factory=list)

    @classmethod
    def new(
        cls,
        assignment_id: str,
        lead_id: str,
        decision: Decision,
        *,
        owned: bool,
        agreement_version: str,
        intelligence: LeadIntelligence,
        deadline: datetime,
        now: datetime,
    ) -> Assignment:
        """A fresh assignment: open with its timer running when a rep owns it, else queued."""
        return cls(
            assignment_id=assignment_id,
            lead_id=lead_id,
            team=decision.team,
            rep_id=decision.rep_id,
            queue=decision.queue,
            business=decision.business,
            status="open" if owned else "queued",
            agreement_version=agreement_version,
            decision=decision,
            intelligence=intelligence,
            captured_at=intelligence.first_seen_at,
            assigned_at=now,
            sla_deadline=deadline,
            timer_due_at=deadline if owned else None,
        )

    def stop_timer(self, at: datetime, why: str) -> bool:
        """Sales took the lead: the clock stops. True when this is the first touch."""
        first = self.first_touch_at is None
        self.status = "touched"
        self.timer_due_at = None
        self.first_touch_at = self.first_touch_at or at
        self.history.append(HistoryEntry(at, f"timer stopped: {why}"))
        return first

    def took_step(self, step: str, now: datetime) -> None:
        """Record the ladder step taken at `now`."""
        self.history.append(HistoryEntry(now, f"sla step: {step}"))

    def escalate_later(self, next_due: datetime) -> None:
        """A warning step: climb one rung, the next one is due at `next_due`."""
        self.timer_step += 1
        self.timer_due_at = next_due

    def tried_reps(self) -> frozenset[str]:
        """The current owner and every rep the lead was taken from."""
        tried = {h.from_rep for h in self.history if h.from_rep}
        if self.rep_id:
            tried.add(self.rep_id)
        return frozenset(tried)

    def reassign(self, decision: Decision, deadline: datetime, now: datetime) -> None:
        """Move the lead to the decision's rep; the ladder starts again at its deadline."""
        self.history.append(
            HistoryEntry(
                now, f"reassigned to {decision.rep_id}", from_rep=self.rep_id, path=decision.path
            )
        )
        self.rep_id = decision.rep_id
        self.reassignments += 1
        self.sla_deadline = deadline
        self.timer_due_at = deadline
        self.timer_step = 0

    def to_queue(self, queue: str, now: datetime) -> None:
        """Nobody (left) to reassign to: the team queue takes the lead, the timer stops."""
        self.history.append(HistoryEntry(now, f"to the team queue {queue}"))
        self.rep_id = None
        self.queue = queue
        self.status = "queued"
        self.timer_due_at = None


def assignment_fields(
    a: Assignment, *, leave_out: Collection[str] = (), **converted: Any
) -> dict[str, Any]:
    """An assignment's fields with its decision and history in their stored (JSON) form: the
    row and the API's view are this, the row with the intelligence, the view without it."""
    return fields_of(
        a,
        leave_out=leave_out,
        decision=decision_json(a.decision),
        history=[h.to_json() for h in a.history],
        **converted,
    )
