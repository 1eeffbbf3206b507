"""Marketing's side of the lifecycle, decided by scoring: what a lead's score makes of a lead
marketing still owns (lead, mql, recycled): an MQL, an SQL, a disqualification, or nothing."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from leadloop_contract.agreement import Agreement
from leadloop_contract.lifecycle import MARKETING_SIDE, Transition
from leadloop_contract.values import Stage
from leadloop_scoring.domain.interest import ActivityFact
from leadloop_scoring.domain.rules import Score, grade_at_least


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
