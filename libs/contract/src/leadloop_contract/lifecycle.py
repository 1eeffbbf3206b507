"""The lifecycle state machine: which moves are legal, who decides them, and why.

    lead → mql → sql → accepted → opportunity → customer
    exits: recycled (back to marketing nurture) and disqualified, each with a reason.

Each move is decided in one place. Scoring decides the marketing side (lead → mql → sql, a
negative rule's disqualification, re-qualifying a recycled lead). Feedback decides the sales
side from the CRM's statuses and deals (`sales_transition`) and publishes the move it decided;
scoring applies that move as published (`apply_decided`), without deciding it again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from leadloop_contract.values import Stage

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
    """An illegal move a CRM call asked for: refused with the reason (409), never published."""

    from_stage: Stage
    to_stage: Stage
    reason: str


def is_legal(from_stage: Stage, to_stage: Stage) -> bool:
    """Whether the lifecycle allows moving from one stage to the other."""
    return to_stage in LEGAL[from_stage]


def sales_transition(
    stage: Stage, status: str, reason: str | None = None
) -> Transition | Refused | None:
    """What a CRM status or deal outcome does to the lead: feedback's decision; never raises."""
    target = SALES_TARGETS.get(status)
    if target is None:
        return Refused(stage, stage, f"unknown status {status!r}")
    if target == stage:
        return None
    because = crm_reason(status, reason)
    if not is_legal(stage, target):
        return Refused(
            stage,
            target,
            f"{because} would move the lead from {stage} to {target}, which the lifecycle does "
            f"not allow (from {stage}: {', '.join(sorted(LEGAL[stage])) or 'nothing'})",
        )
    return Transition(stage, target, because)


def crm_reason(status: str, reason: str | None = None) -> str:
    """The reason a sales-side move records: the CRM status that caused it."""
    return f"CRM: {status}" + (f" ({reason})" if reason else "")


def apply_decided(
    stage: Stage, to_stage: Stage | None, status: str, reason: str | None = None
) -> Transition | None:
    """The move a published sales-side decision makes from where the lead is now.

    None when the decision moves nothing or the lead is already there. Legality is not checked
    again: feedback decided the move, and one decision has one author.
    """
    if to_stage is None or to_stage == stage:
        return None
    return Transition(stage, to_stage, crm_reason(status, reason))
