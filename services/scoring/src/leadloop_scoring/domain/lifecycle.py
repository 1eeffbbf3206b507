"""The lifecycle state machine: which moves are legal, who may make them, and why.

    lead → mql → sql → accepted → opportunity → customer
    exits: recycled (back to marketing nurture) and disqualified, each with a reason.

Marketing (scoring) moves a lead up to sql; sales (through feedback) moves it after that.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from leadloop_events.lifecycle import Stage
from leadloop_scoring.domain.agreement import Agreement
from leadloop_scoring.domain.interest import ActivityFact
from leadloop_scoring.domain.rules import Score, grade_at_least

MARKETING_SIDE: Final[frozenset[Stage]] = frozenset({"lead", "mql", "recycled"})
LEGAL: Final[dict[Stage, frozenset[Stage]]] = {
    "lead": frozenset({"mql", "sql", "disqualified"}),
    "mql": frozenset({"sql", "disqualified"}),
    "sql": frozenset({"accepted", "opportunity", "customer", "recycled", "disqualified"}),
    "accepted": frozenset({"opportunity", "customer", "recycled", "disqualified"}),
    "opportunity": frozenset({"customer", "recycled", "disqualified"}),
    "customer": frozenset(),
    "recycled": frozenset({"mql", "sql", "disqualified"}),
    "disqualified": frozenset(),
}
# CRM statuses and deal outcomes -> the stage they mean.
SALES_TARGETS: Final[dict[str, Stage]] = {
    "accepted": "accepted",
    "working": "accepted",
    "rejected": "recycled",
    "unqualified": "recycled",
    "recycled": "recycled",
    "disqualified": "disqualified",
    "opportunity": "opportunity",
    "deal_created": "opportunity",
    "deal_won": "customer",
    "deal_lost": "recycled",
}


@dataclass(frozen=True)
class Transition:
    """A legal move, with the reason in words."""

    from_stage: Stage
    to_stage: Stage
    reason: str


@dataclass(frozen=True)
class Refused:
    """An illegal move that an event asked for: recorded and explained, never applied."""

    from_stage: Stage
    to_stage: Stage
    reason: str


def is_legal(from_stage: Stage, to_stage: Stage) -> bool:
    return to_stage in LEGAL[from_stage]


def marketing_transition(
    agreement: Agreement,
    stage: Stage,
    score: Score,
    *,
    recycled_at: datetime | None = None,
    now: datetime | None = None,
    activities: Sequence[ActivityFact] = (),
) -> Transition | None:
    """What the score means for a lead marketing still owns; None if nothing moves."""
    if stage not in MARKETING_SIDE:
        return None
    if score.disqualified_by is not None:
        return Transition(stage, "disqualified", f"negative rule: {score.disqualified_by}")
    if stage == "recycled" and recycled_at is not None and now is not None:
        cool_off = timedelta(days=agreement.recycle.cool_off_days)
        if now - recycled_at < cool_off:
            return None
    matrix = agreement.matrix
    if score.hand_raise and grade_at_least(score.grade, agreement.interest.hand_raise.min_grade):
        return Transition(
            stage, "sql", f"hand-raise: {score.hand_raise} from a grade {score.grade} fit"
        )
    if (
        score.quadrant == "sales_now"
        and score.total >= matrix.sql.min_total
        and grade_at_least(score.grade, matrix.sql.min_grade)
    ):
        return Transition(
            stage,
            "sql",
            f"fit and interest: {score.total:g} points (SQL from {matrix.sql.min_total:g}), "
            f"grade {score.grade}",
        )
    if stage == "recycled" and score.interest < agreement.recycle.requalify_interest:
        return None
    if (
        stage != "mql"
        and score.quadrant != "not_handed_off"
        and score.total >= matrix.mql.min_total
        and grade_at_least(score.grade, matrix.mql.min_grade)
    ):
        return Transition(
            stage,
            "mql",
            f"{score.total:g} points (MQL from {matrix.mql.min_total:g}), "
            f"grade {score.grade}: marketing nurtures",
        )
    return None


def sales_transition(
    stage: Stage, status: str, reason: str | None = None
) -> Transition | Refused | None:
    """What a CRM status or deal outcome does to the lead; never raises."""
    target = SALES_TARGETS.get(status)
    if target is None:
        return Refused(stage, stage, f"unknown status {status!r}")
    if target == stage:
        return None
    because = f"CRM: {status}" + (f" ({reason})" if reason else "")
    if not is_legal(stage, target):
        return Refused(
            stage,
            target,
            f"{because} would move the lead from {stage} to {target}, which the lifecycle does "
            f"not allow (from {stage}: {', '.join(sorted(LEGAL[stage])) or 'nothing'})",
        )
    return Transition(stage, target, because)
