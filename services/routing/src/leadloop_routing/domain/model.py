"""Reps, accounts and the routing decision, as routing's rules see them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from leadloop_routing.domain.calendar import WorkingCalendar

# The CRMs a rep can be linked to, by the CRM's own id of them: HubSpot's owner id, Salesforce's
# User id (15 or 18 characters; both forms name the same user).
CRM_SYSTEMS = ("hubspot", "salesforce")

SkipReason = Literal[
    "inactive",
    "out_of_office",
    "outside_working_hours",
    "daily_capacity",
    "total_capacity",
    "excluded",
]


@dataclass(frozen=True)
class Absence:
    start: datetime
    end: datetime


@dataclass(frozen=True)
class Rep:
    """A sales rep and what makes them available."""

    rep_id: str
    name: str
    email: str
    teams: tuple[str, ...]
    weight: int = 1
    max_open_per_day: int | None = None
    max_open_total: int | None = None
    calendar: WorkingCalendar = field(default_factory=WorkingCalendar)
    out_of_office: tuple[Absence, ...] = ()
    active: bool = True
    manager_email: str | None = None
    # {"hubspot": owner id, "salesforce": User id}: who this rep is in each CRM.
    crm_ids: dict[str, str] = field(default_factory=dict)
    # The CRM whose owner sync created this rep (it keeps its name, email and teams up to
    # date); None for a rep an admin created or last replaced, which the sync never renames.
    synced_from: str | None = None


@dataclass(frozen=True)
class Load:
    """A rep's open SQLs: assigned today (in their time zone) and in total."""

    today: int = 0
    total: int = 0


@dataclass(frozen=True)
class Account:
    """An existing customer account and its owner."""

    domain: str
    name: str
    owner_rep_id: str


@dataclass(frozen=True)
class Skip:
    rep_id: str
    reason: SkipReason


@dataclass(frozen=True)
class Decision:
    """Who gets the lead and the path the decision took."""

    team: str
    business: Literal["new", "existing"]
    rep_id: str | None
    queue: str | None
    path: tuple[str, ...]
    skipped: tuple[Skip, ...] = ()
    weights: dict[str, int] = field(default_factory=dict)


def distribution(
    counts: Sequence[tuple[str, str, int]], reps: Mapping[str, Rep]
) -> list[dict[str, Any]]:
    """Per team, each rep's share of the assignments next to their share of the weight."""
    teams: dict[str, dict[str, Any]] = {}
    for team_name, rep_id, count in counts:
        entry = teams.setdefault(team_name, {"team": team_name, "assigned": 0, "reps": []})
        entry["assigned"] += count
        entry["reps"].append(
            {
                "rep_id": rep_id,
                "assigned": count,
                "weight": reps[rep_id].weight if rep_id in reps else None,
            }
        )
    for entry in teams.values():
        weights = sum(r["weight"] or 0 for r in entry["reps"]) or 1
        for r in entry["reps"]:
            r["share"] = round(r["assigned"] / entry["assigned"], 4)
            r["weight_share"] = round((r["weight"] or 0) / weights, 4)
    return list(teams.values())
