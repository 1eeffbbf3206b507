"""A partition's batch of SQLs in one transaction on the real PostgreSQL, through routing's real
handler registry: the same owners, in the same round-robin order, with the same caps, as the
same events handled one by one; and the batch reads the agreement, the reps, the weights and the
counters once (adapters.read_once, adapters.rep_loads), and writes the weights once, at commit
(adapters.uow)."""

from __future__ import annotations

import functools
from collections import Counter
from datetime import UTC, datetime, time
from typing import Any

import sqlalchemy as sa
from aiokafka import ConsumerRecord

from leadloop_db.engine import make_engine
from leadloop_db.uow import Transactions
from leadloop_events.envelope import new_event
from leadloop_events.lifecycle import LeadStageChanged
from leadloop_messaging.batch import Item, SqlLedger, apply_batch
from leadloop_routing.adapters.tables import assignments, outbox, processed_events, round_robin
from leadloop_routing.adapters.uow import SqlUnitOfWork
from leadloop_routing.alerts import Outbound
from leadloop_routing.domain.calendar import WorkingCalendar
from leadloop_routing.domain.commands import UpsertAccount, UpsertRep
from leadloop_routing.domain.model import Account, Rep
from leadloop_routing.handlers import registry, store_agreement, upsert_account, upsert_rep

from ...factories import agreement_published, stage_changed

# dach: alice (weight 3), bob (2, at most 2 open), cleo (1, at most 1 a day), dana (1, owns
# ACME Dental's account); nordics: nils alone. Enterprise has no rep: its queue.
STAFF = (
    ("rep-alice", ("dach",), 3, None, None),
    ("rep-bob", ("dach",), 2, None, 2),
    ("rep-cleo", ("dach",), 1, 1, None),
    ("rep-dana", ("dach",), 1, None, None),
    ("rep-nils", ("nordics",), 1, None, None),
)
AROUND_THE_CLOCK = WorkingCalendar("UTC", time(0), time(23, 59, 59), frozenset(range(7)))


def sql(
    lead_id: str, *, country: str = "DE", size: int = 240, domain: str = ""
) -> LeadStageChanged:
    """An SQL from `country`, of a company of `size`, with an email at `domain`."""
    data = stage_changed(lead_id, email=f"ana@{domain or lead_id + '.example'}")
    assert data.intelligence is not None
    profile = data.intelligence.profile.model_copy(
        update={"country": country, "company_size": size}
    )
    return data.model_copy(
        update={"intelligence": data.intelligence.model_copy(update={"profile": profile})}
    )


def events() -> list[LeadStageChanged]:
    """Mostly dach SQLs (enough to fill bob's and cleo's caps), some nordics, an enterprise
    lead, ACME Dental's (its account's owner), and a move that is not to SQL."""
    found = [sql(f"lead-{i:02}") for i in range(14)]
    found[3] = sql("lead-03", country="SE")
    found[6] = sql("lead-06", size=5000)
    found[8] = sql("lead-08", domain="acme-dental.com")
    found[11] = sql("lead-11", country="FI")
    found.insert(5, stage_changed("lead-mql", from_stage="lead", to_stage="mql"))
    return found


async def staff(transactions: Transactions[SqlUnitOfWork]) -> None:
    """The example agreement, the reps and ACME Dental's account."""
    published = agreement_published()
    await transactions.run(store_agreement, new_event(published, subject="agreement"), published)
    now = datetime.now(UTC)
    for rep_id, teams, weight, per_day, total in STAFF:
        rep = Rep(
            rep_id,
            rep_id.title(),
            f"{rep_id}@northwind.example",
            teams,
            weight=weight,
            max_open_per_day=per_day,
            max_open_total=total,
            calendar=AROUND_THE_CLOCK,
        )
        await transactions.run(upsert_rep, UpsertRep(rep, now))
    account = Account("acme-dental.com", "ACME Dental", "rep-dana")
    await transactions.run(upsert_account, UpsertAccount(account, now))


async def route(url: str, batches: list[list[LeadStageChanged]]) -> tuple[Any, Counter[str]]:
    """Each batch in one transaction; (assignments, weights, counters) and the reads made."""
    engine = make_engine(url, pool_size=2)
    reads: Counter[str] = Counter()

    def count(conn: object, cursor: object, statement: str, *args: object) -> None:
        for table in ("agreements", "reps", "round_robin", "rep_loads", "webhook_subscriptions"):
            if statement.startswith("SELECT") and f"FROM routing.{table} " in statement + " ":
                reads[table] += 1
        reads["lock"] += "pg_advisory_xact_lock" in statement
        reads["weights saved"] += statement.startswith("INSERT INTO routing.round_robin ")

    try:
        uow = functools.partial(SqlUnitOfWork, engine, outbox, "")
        await staff(Transactions(uow))
        handlers = registry(outbound=Outbound(email_enabled=True)).handlers()
        ledger = SqlLedger(processed_events, "routing")
        sa.event.listen(engine.sync_engine, "before_cursor_execute", count)
        offset = 0
        for batch in batches:
            items = []
            for data in batch:
                event = new_event(data, subject=data.lead_id)
                record = ConsumerRecord(
                    "lifecycle", 0, offset, 0, 0, b"", event.to_bytes(), None, 0, 0, []
                )
                items.append(Item(record, event, data, handlers[event.type]))
                offset += 1
            assert set((await apply_batch(uow, ledger, items)).outcomes) == {"ok"}
        sa.event.remove(engine.sync_engine, "before_cursor_execute", count)
        return await stored(engine), reads
    finally:
        await engine.dispose()


async def stored(engine: Any) -> tuple[list[Any], dict[str, Any], list[Any]]:
    """Each lead's owner, team, queue and decision path, in order; the weights; the counters."""
    a = assignments
    async with engine.connect() as conn:
        owners = await conn.execute(
            sa.select(a.c.lead_id, a.c.rep_id, a.c.team, a.c.queue, a.c.decision).order_by(
                a.c.lead_id
            )
        )
        weights = await conn.execute(sa.select(round_robin.c.team, round_robin.c.weights))
        counters = await conn.execute(
            sa.text("SELECT rep_id, open_total, day_count FROM routing.rep_loads ORDER BY rep_id")
        )
        return [tuple(r) for r in owners], dict(weights.all()), [tuple(r) for r in counters]


async def test_a_batch_of_sqls_is_routed_as_one_by_one(
    database_url: str, other_database_url: str
) -> None:
    sqls = events()
    one_by_one, _ = await route(database_url, [[e] for e in sqls])
    batched, reads = await route(other_database_url, [sqls])
    assert batched == one_by_one
    owners = {lead: (rep, queue) for lead, rep, _, queue, _ in batched[0]}
    assert "lead-mql" not in owners and len(owners) == 14
    # The caps filled up inside the batch, and the round robin went on without them.
    mine = Counter(rep for rep, _ in owners.values())
    assert mine == {
        "rep-alice": 5,
        "rep-bob": 2,
        "rep-cleo": 1,
        "rep-dana": 3,
        "rep-nils": 2,
        None: 1,
    }
    assert owners["lead-08"] == ("rep-dana", None)  # ACME Dental's owner
    assert owners["lead-06"] == (None, "enterprise-queue")
    # Smooth weighted round robin among alice 3, bob 2, cleo 1, dana 1 (domain.chain), cleo
    # capped after her first of the day, bob after his second.
    dach = [owners[f"lead-{i:02}"][0] for i in range(14) if i not in (3, 6, 8, 11)]
    assert dach == [
        *("rep-alice", "rep-bob", "rep-cleo", "rep-alice", "rep-dana"),
        *("rep-alice", "rep-bob", "rep-alice", "rep-alice", "rep-dana"),
    ]
    # Read once for the batch: the agreement, the reps, the weights (after one lock statement),
    # the counters, the subscriptions; both teams' weights written in one statement, at commit.
    assert reads == {
        "weights saved": 1,
        "agreements": 1,
        "reps": 1,
        "lock": 1,
        "round_robin": 1,
        "rep_loads": 1,
        "webhook_subscriptions": 1,
    }, reads
