"""What a hand-off reads, read once per transaction: the agreement in force, the reps, the
accounts, the webhook subscriptions and the round-robin weights (the reps' counters: `RepLoads`).

A consumer batch is one transaction (leadloop_messaging.batch), and the repository lives as long
as its transaction (SqlUnitOfWork builds one when it opens), so what `ReadOnce` read is reused by
every later event's step of the batch, and never by another transaction. Inside the transaction
only this repository changes what it keeps: the round-robin weights it saves are kept as saved;
a rep, an account, a subscription or an agreement saved drops what was read of its kind.

The weights (and the counters) are exact: read under the teams' advisory locks, taken in sorted
order before the first read and held until commit. What another transaction commits meanwhile to
the reps, the accounts, the subscriptions or the agreements is seen from the next batch on: the
batch comes before it, as events on other partitions come in no set order anyway.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, insert
from sqlalchemy.ext.asyncio import AsyncConnection

from leadloop_contract.agreement import Agreement, ParsedAgreements
from leadloop_routing.adapters.rows import rep_from_row
from leadloop_routing.adapters.tables import accounts, agreements, reps, round_robin
from leadloop_routing.domain.delivery import Subscription
from leadloop_routing.domain.model import Account, Rep

# A stored version's document never changes: parse each once per process.
PARSED = ParsedAgreements()
# The statements, built once (only their parameters change from call to call).
IN_FORCE = (
    sa.select(agreements.c.version, agreements.c.document)
    .order_by(agreements.c.published_at.desc())
    .limit(1)
)
ALL_REPS = sa.select(reps).order_by(reps.c.rep_id)
ONE_REP = sa.select(reps).where(reps.c.rep_id == sa.bindparam("rep_id", type_=sa.String))
ACCOUNT = sa.select(accounts).where(accounts.c.domain == sa.bindparam("domain", type_=sa.String))
_keys = (
    sa.func.unnest(sa.bindparam("keys", type_=ARRAY(sa.String)))
    .table_valued("key")
    .render_derived(name="locked")
)
# One transaction-level advisory lock per team, in the order of `keys` (a function scan yields
# the array in order): it holds even before the team's row exists, so two first decisions
# cannot both start from empty weights.
LOCK_TEAMS = sa.select(sa.func.pg_advisory_xact_lock(sa.func.hashtext(_keys.c.key)))
WEIGHTS = (
    sa.select(round_robin.c.team, round_robin.c.weights)
    .where(round_robin.c.team == sa.func.any(sa.bindparam("teams", type_=ARRAY(sa.String))))
    .order_by(round_robin.c.team)
    .with_for_update()
)
_save_weights = insert(round_robin)
SAVE_WEIGHTS = _save_weights.on_conflict_do_update(
    index_elements=[round_robin.c.team], set_={"weights": _save_weights.excluded.weights}
)


def lock_key(team: str) -> str:
    """The advisory lock's text for a team's round robin (the same since routing_0001)."""
    return "leadloop-rr:" + team


@dataclass
class Kept:
    """What this transaction read (a missing key: not read yet)."""

    agreement: list[tuple[str, Agreement] | None] = field(default_factory=list)  # 0 or 1 item
    reps: list[Rep] | None = None  # every rep, by id
    rep: dict[str, Rep | None] = field(default_factory=dict)
    accounts: dict[str, Account | None] = field(default_factory=dict)
    subscriptions: dict[str, list[Subscription]] = field(default_factory=dict)
    locked: set[str] = field(default_factory=set)  # teams whose lock this transaction holds
    weights: dict[str, dict[str, int]] = field(default_factory=dict)


class ReadOnce:
    """The reads a hand-off makes, each made once per transaction (mixed into SqlRepository)."""

    conn: AsyncConnection
    kept: Kept

    async def current_agreement(self) -> tuple[str, Agreement] | None:
        """The latest published agreement and its version, or None before the first."""
        if not self.kept.agreement:
            row = (await self.conn.execute(IN_FORCE)).first()
            parsed = None if row is None else (row.version, PARSED.parse(row.version, row.document))
            self.kept.agreement.append(parsed)
        return self.kept.agreement[0]

    async def all_reps(self, for_update: bool = False) -> list[Rep]:
        """Every rep, by id; `for_update` locks them until commit (the owner sync)."""
        if for_update:
            rows = await self.conn.execute(ALL_REPS.with_for_update())
            return [rep_from_row(r) for r in rows]
        if self.kept.reps is None:
            self.kept.reps = [rep_from_row(r) for r in await self.conn.execute(ALL_REPS)]
            self.kept.rep = {r.rep_id: r for r in self.kept.reps}
        return list(self.kept.reps)

    async def rep(self, rep_id: str, for_update: bool = False) -> Rep | None:
        """One rep, or None; `for_update` locks it until commit (a conditional write)."""
        if for_update:
            row = (await self.conn.execute(ONE_REP.with_for_update(), {"rep_id": rep_id})).first()
            return None if row is None else rep_from_row(row)
        if rep_id not in self.kept.rep and self.kept.reps is None:
            row = (await self.conn.execute(ONE_REP, {"rep_id": rep_id})).first()
            self.kept.rep[rep_id] = None if row is None else rep_from_row(row)
        return self.kept.rep.get(rep_id)

    async def account(self, domain: str, for_update: bool = False) -> Account | None:
        """The account of an email domain, or None; `for_update` locks it until commit."""
        if for_update or domain not in self.kept.accounts:
            query = ACCOUNT.with_for_update() if for_update else ACCOUNT
            row = (await self.conn.execute(query, {"domain": domain})).first()
            found = None if row is None else Account(row.domain, row.name, row.owner_rep_id)
            if for_update:
                return found
            self.kept.accounts[domain] = found
        return self.kept.accounts[domain]

    async def rr_states(self, teams: Iterable[str]) -> dict[str, dict[str, int]]:
        """The teams' round-robin weights, locked until commit (so concurrent SQLs queue)."""
        wanted = sorted(set(teams))
        await self.lock_teams(wanted)
        unread = [team for team in wanted if team not in self.kept.weights]
        if unread:
            rows = await self.conn.execute(WEIGHTS, {"teams": unread})
            found = {row.team: dict(row.weights) for row in rows}
            self.kept.weights.update({team: found.get(team, {}) for team in unread})
        return {team: dict(self.kept.weights[team]) for team in wanted}

    async def save_rr_state(self, team: str, weights: dict[str, int]) -> None:
        """Store the team's round-robin weights (its lock is held: rr_states came first)."""
        await self.conn.execute(SAVE_WEIGHTS, {"team": team, "weights": weights})
        self.kept.weights[team] = dict(weights)

    async def lock_teams(self, teams: Iterable[str]) -> None:
        """Take the teams' round-robin locks this transaction does not hold yet, sorted by name
        (the same order in every transaction: two batches wait, never deadlock)."""
        missing = sorted(set(teams) - self.kept.locked)
        if missing:
            await self.conn.execute(LOCK_TEAMS, {"keys": [lock_key(t) for t in missing]})
            self.kept.locked.update(missing)

    async def lock_teams_in_force(self) -> None:
        """Take every team's lock of the agreement in force (before any counter is written)."""
        current = await self.current_agreement()
        if current is not None:
            await self.lock_teams(team.name for team in current[1].routing.teams)
