"""The CRM's owners as reps: which reps a sync creates, updates and deactivates (pure).

Rules (the README's "Reps from the CRM" section says the same for users):
- An owner matches the rep linked to its id (`Rep.crm_ids[system]`; Salesforce ids compare on
  their first 15 characters), else an active owner matches a rep not yet linked to that CRM by
  email (any case). Archived or inactive owners match by id only: an old, archived owner never
  takes over a rep by its email.
- A new active owner becomes a rep `<system>-<owner id>` (e.g. `hubspot-41629779`: stable when
  the person's email changes, unique across CRMs), marked `synced_from=<system>`, in the teams
  the mapping gives its CRM teams (else the default team; neither: skipped, with the reason).
- A rep the sync created (`synced_from` is this CRM) follows its owner: name, email, teams (when
  the mapping gives some) and active. A rep the admin created or last replaced is never renamed:
  the sync only links its CRM id and deactivates it when its owner is archived or inactive.
- A linked rep whose owner is archived, inactive or gone from the CRM is deactivated, never
  deleted (its assignments and history stay). Reps without this CRM's id and not matched by
  email are left alone.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from leadloop_routing.domain.model import Rep

NAME_MAX = 200


@dataclass(frozen=True)
class CrmOwner:
    """A CRM's owner as the sync reads it: its id there, who it is, and its CRM teams (the
    main one first)."""

    id: str
    email: str | None
    name: str
    active: bool
    teams: tuple[str, ...] = ()


@dataclass(frozen=True)
class TeamMapping:
    """CRM team name -> leadloop team, and the team of owners whose CRM teams are unmapped."""

    teams: Mapping[str, str] = field(default_factory=dict)
    default: str | None = None

    def teams_of(self, owner: CrmOwner) -> tuple[str, ...]:
        """The leadloop teams of an owner (mapped ones in the CRM's order, else the default)."""
        mapped = tuple(dict.fromkeys(self.teams[t] for t in owner.teams if t in self.teams))
        return mapped or ((self.default,) if self.default else ())


@dataclass(frozen=True)
class Skipped:
    """An owner the sync could not make a rep of, and why."""

    owner_id: str
    reason: str


@dataclass(frozen=True)
class RepsSyncPlan:
    """What one sync changes: reps to create, to update, to deactivate; owners skipped."""

    created: tuple[Rep, ...] = ()
    updated: tuple[Rep, ...] = ()
    deactivated: tuple[Rep, ...] = ()
    skipped: tuple[Skipped, ...] = ()

    @property
    def changed(self) -> tuple[Rep, ...]:
        """Every rep to save."""
        return self.created + self.updated + self.deactivated


def synced_rep_id(system: str, owner_id: str) -> str:
    """The id of a rep the sync creates for an owner: `<system>-<owner id>`."""
    return f"{system}-{owner_id}"


def id_key(system: str, crm_id: str) -> str:
    """The form two ids of one CRM compare in (a Salesforce id's first 15 characters)."""
    return crm_id[:15] if system == "salesforce" else crm_id


def plan_reps_sync(
    system: str, owners: Sequence[CrmOwner], reps: Iterable[Rep], mapping: TeamMapping
) -> RepsSyncPlan:
    """Which reps to create, update and deactivate so they follow the CRM's owners."""
    before = {r.rep_id: r for r in reps}
    linked = {id_key(system, r.crm_ids[system]): r for r in before.values() if system in r.crm_ids}
    by_email: dict[str, Rep] = {}
    for unlinked in sorted(before.values(), key=lambda r: (not r.active, r.rep_id)):
        if system not in unlinked.crm_ids:
            by_email.setdefault(unlinked.email.lower(), unlinked)
    claimed: set[str] = set()
    seen: set[str] = set()
    created: list[Rep] = []
    changed: list[Rep] = []
    skipped: list[Skipped] = []
    # Active owners first, so that they claim reps by email before anything else can.
    for owner in sorted(owners, key=lambda o: not o.active):
        key = id_key(system, owner.id)
        if key in seen:
            continue
        seen.add(key)
        rep = linked.get(key)
        if rep is None and owner.active and owner.email:
            candidate = by_email.get(owner.email.lower())
            rep = candidate if candidate and candidate.rep_id not in claimed else None
        if rep is not None:
            claimed.add(rep.rep_id)
            changed.append(follow(system, rep, owner, mapping))
        elif owner.active:
            made = new_rep(system, owner, mapping, set(before))
            if isinstance(made, Skipped):
                skipped.append(made)
            else:
                created.append(made)
    # Linked reps whose owner the CRM no longer lists at all.
    changed += [
        dataclasses.replace(r, active=False) for r in linked.values() if r.rep_id not in claimed
    ]
    changed = [r for r in changed if r != before[r.rep_id]]
    ended = [r for r in changed if before[r.rep_id].active and not r.active]
    return RepsSyncPlan(
        created=tuple(created),
        updated=tuple(r for r in changed if r not in ended),
        deactivated=tuple(ended),
        skipped=tuple(skipped),
    )


def follow(system: str, rep: Rep, owner: CrmOwner, mapping: TeamMapping) -> Rep:
    """The rep as its owner has it now: all of it for a rep this CRM's sync created; only the
    link and a deactivation for anyone else's."""
    crm_ids = {**rep.crm_ids, system: owner.id}
    if rep.synced_from != system:
        return dataclasses.replace(rep, crm_ids=crm_ids, active=rep.active and owner.active)
    return dataclasses.replace(
        rep,
        name=owner.name[:NAME_MAX] or rep.name,
        email=owner.email or rep.email,
        teams=mapping.teams_of(owner) or rep.teams,
        active=owner.active,
        crm_ids=crm_ids,
    )


def new_rep(
    system: str, owner: CrmOwner, mapping: TeamMapping, taken_ids: set[str]
) -> Rep | Skipped:
    """A rep for a new active owner, or why there cannot be one."""
    if not owner.email:
        return Skipped(owner.id, "the owner has no email")
    teams = mapping.teams_of(owner)
    if not teams:
        crm_teams = ", ".join(owner.teams) or "none"
        return Skipped(
            owner.id,
            f"no leadloop team: its CRM teams ({crm_teams}) are not in LEADLOOP_REPS_TEAM_MAP "
            "and LEADLOOP_REPS_DEFAULT_TEAM is not set",
        )
    rep_id = synced_rep_id(system, owner.id)
    if rep_id in taken_ids:
        return Skipped(owner.id, f"a rep {rep_id} exists that is not linked to this owner")
    return Rep(
        rep_id=rep_id,
        name=owner.name[:NAME_MAX] or owner.email,
        email=owner.email,
        teams=teams,
        crm_ids={system: owner.id},
        synced_from=system,
    )
