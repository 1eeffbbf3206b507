"""The decision chain: account owner → first matching team → weighted round robin among the
available reps → the team's fallback queue. Deterministic for the same inputs and state."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from leadloop_contract.agreement import Routing, Team
from leadloop_routing.domain.model import Account, Decision, Load, Rep, Skip, SkipReason

REGIONS: Mapping[str, frozenset[str]] = {
    "dach": frozenset({"DE", "AT", "CH"}),
    "nordics": frozenset({"SE", "NO", "DK", "FI", "IS"}),
    "uki": frozenset({"GB", "IE"}),
    "north-america": frozenset({"US", "CA"}),
    "latam": frozenset({"MX", "BR", "AR", "CL", "CO", "PE"}),
    "apac": frozenset({"AU", "NZ", "JP", "SG", "IN", "KR", "HK"}),
}
REGIONS = {
    **REGIONS,
    "emea": frozenset().union(
        REGIONS["dach"],
        REGIONS["nordics"],
        REGIONS["uki"],
        {"FR", "ES", "IT", "NL", "BE", "LU", "PL", "PT", "CZ", "AE", "ZA", "IL"},
    ),
}


@dataclass(frozen=True)
class LeadFacts:
    """What routing reads of a lead."""

    email_domain: str
    country: str | None
    company_size: int | None
    industry: str | None


def team_matches(team: Team, lead: LeadFacts) -> bool:
    """All of a team's criteria that are set must hold."""
    if team.countries or team.regions:
        in_country = lead.country is not None and lead.country in team.countries
        in_region = lead.country is not None and any(
            lead.country in REGIONS.get(r.lower(), frozenset()) for r in team.regions
        )
        if not (in_country or in_region):
            return False
    if team.company_size is not None:
        size = lead.company_size
        low, high = team.company_size.min, team.company_size.max
        if size is None or (low is not None and size < low) or (high is not None and size > high):
            return False
    if team.industries:
        wanted = {i.lower() for i in team.industries}
        if (lead.industry or "").lower() not in wanted:
            return False
    return True


def unavailable(rep: Rep, load: Load, now: datetime) -> SkipReason | None:
    """Why a rep cannot take a lead now, or None."""
    if not rep.active:
        return "inactive"
    if any(a.start <= now < a.end for a in rep.out_of_office):
        return "out_of_office"
    if not rep.calendar.is_working(now):
        return "outside_working_hours"
    if rep.max_open_per_day is not None and load.today >= rep.max_open_per_day:
        return "daily_capacity"
    if rep.max_open_total is not None and load.total >= rep.max_open_total:
        return "total_capacity"
    return None


def weighted_round_robin(
    candidates: Sequence[Rep], state: Mapping[str, int]
) -> tuple[Rep, dict[str, int]]:
    """Smooth weighted round robin: over time each rep gets weight/total of the leads, spread
    evenly; ties go to the rep id that sorts first, so the result is deterministic."""
    current = {r.rep_id: state.get(r.rep_id, 0) + r.weight for r in candidates}
    total = sum(r.weight for r in candidates)
    chosen = min(candidates, key=lambda r: (-current[r.rep_id], r.rep_id))
    current[chosen.rep_id] -= total
    return chosen, {**state, **current}


def decide(
    *,
    routing: Routing,
    lead: LeadFacts,
    reps: Sequence[Rep],
    loads: Mapping[str, Load],
    accounts: Mapping[str, Account],
    rr_state: Mapping[str, Mapping[str, int]],
    now: datetime,
    exclude: frozenset[str] = frozenset(),
) -> Decision:
    """Route one SQL. `exclude` names reps already tried (reassignment)."""
    by_id = {r.rep_id: r for r in reps}
    path: list[str] = []
    account = accounts.get(lead.email_domain)
    if account is not None:
        owner = by_id.get(account.owner_rep_id)
        if owner is not None and owner.active and owner.rep_id not in exclude:
            path.append(f"account {account.domain} ({account.name}) is owned by {owner.rep_id}")
            owner_team = owner.teams[0] if owner.teams else "accounts"
            return Decision(owner_team, "existing", owner.rep_id, None, tuple(path))
        path.append(f"account {account.domain} matched but its owner is not available")
    team = next((t for t in routing.teams if team_matches(t, lead)), None)
    if team is None:
        path.append(f"no team matched; fallback queue {routing.fallback_queue}")
        return Decision("unassigned", "new", None, routing.fallback_queue, tuple(path))
    path.append(f"team {team.name} matched")
    members = sorted((r for r in reps if team.name in r.teams), key=lambda r: r.rep_id)
    skipped: list[Skip] = []
    available: list[Rep] = []
    for rep in members:
        reason: SkipReason | None = "excluded" if rep.rep_id in exclude else None
        reason = reason or unavailable(rep, loads.get(rep.rep_id, Load()), now)
        if reason is None:
            available.append(rep)
        else:
            skipped.append(Skip(rep.rep_id, reason))
    queue = team.fallback_queue or routing.fallback_queue
    if not available:
        path.append(f"no rep of {team.name} is available; fallback queue {queue}")
        return Decision(team.name, "new", None, queue, tuple(path), tuple(skipped))
    chosen, weights = weighted_round_robin(available, rr_state.get(team.name, {}))
    path.append(
        f"weighted round robin among {', '.join(r.rep_id for r in available)} chose {chosen.rep_id}"
    )
    return Decision(team.name, "new", chosen.rep_id, None, tuple(path), tuple(skipped), weights)
