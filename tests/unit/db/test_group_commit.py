"""Group commit: concurrent calls share a transaction; each caller gets its own result or error,
exactly as it would alone; nothing half-committed, lost or applied twice."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, Self

import pytest
from sqlalchemy.exc import DBAPIError

from leadloop_db.grouped import REFUSALS_PER_GROUP, GroupCommit
from leadloop_db.uow import Transactions, UnitOfWork

from ...waiting import wait_for


class Store:
    """What committed (one list per transaction), and the units of work open now."""

    def __init__(self) -> None:
        self.transactions: list[list[str]] = []
        self.open: list[FakeUnitOfWork] = []
        self.commit_error: BaseException | None = None

    @property
    def rows(self) -> list[str]:
        return [row for rows in self.transactions for row in rows]


class FakeUnitOfWork(UnitOfWork):
    """Rows written by handlers become the store's only at commit; no database."""

    # No super().__init__: it wants an engine, and nothing here touches the database.
    def __init__(self, store: Store) -> None:
        self.store = store
        self.events = []
        self._earlier = []
        self.rows: list[str] = []

    async def __aenter__(self) -> Self:
        self.store.open.append(self)
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.store.open.remove(self)
        self.rows = []  # rolled back unless committed

    async def commit(self) -> None:
        if self.store.commit_error is not None and any("big" in r for r in self.rows):
            raise self.store.commit_error
        self.store.transactions.append(self.rows)
        self.rows = []


class Refused(Exception):
    """A handler's own error (a 422, say)."""


async def add(uow: FakeUnitOfWork, name: str, gate: asyncio.Event | None = None) -> str:
    """Write a row; a gate holds the transaction open until the test opens it."""
    assert not uow.events, "a handler sees only the events of its own call"
    uow.publish("leads", name)  # type: ignore[arg-type]
    uow.rows.append(name)
    if gate is not None:
        await gate.wait()
    return name.upper()


async def refuse(uow: FakeUnitOfWork, name: str) -> str:
    """Write a row, then refuse: what it wrote must never commit."""
    uow.rows.append(name)
    raise Refused(name)


async def answers(tasks: list[asyncio.Task[str]]) -> list[object]:
    """Each caller's result, or the name a refused call raised with, or its other error."""
    results = await asyncio.gather(*tasks, return_exceptions=True)
    return [r.args[0] if isinstance(r, Refused) else r for r in results]


def grouped(store: Store, **options: Any) -> GroupCommit[FakeUnitOfWork]:
    return GroupCommit(Transactions(lambda: FakeUnitOfWork(store)), **options)


async def queued_behind_a_gate(
    group: GroupCommit[FakeUnitOfWork], *calls: Coroutine[Any, Any, str], lanes: int = 1
) -> tuple[asyncio.Event, list[asyncio.Task[str]]]:
    """First calls ("first", "second") hold every lane open while `calls` queue up behind
    them, in order."""
    gate = asyncio.Event()
    tasks = [
        asyncio.create_task(group.run(add, name, gate)) for name in ["first", "second"][:lanes]
    ]
    for n, call in enumerate(calls, start=1):
        tasks.append(asyncio.create_task(call))
        await wait_for(_queued(group, n), what=f"{n} calls queued", timeout_s=5)
    return gate, tasks


def _queued(group: GroupCommit[FakeUnitOfWork], n: int) -> Any:
    async def check() -> bool:
        return group.queued == n

    return check


async def test_an_idle_call_runs_at_once_in_its_own_transaction() -> None:
    store = Store()
    assert await grouped(store).run(add, "ana") == "ANA"
    assert store.transactions == [["ana"]]


async def test_queued_calls_share_one_transaction_in_arrival_order() -> None:
    store, seen = Store(), []
    group = grouped(store, concurrency=1, observe=seen.append)
    names = [f"lead-{n}" for n in range(5)]
    gate, tasks = await queued_behind_a_gate(group, *(group.run(add, n) for n in names))
    gate.set()
    results = await asyncio.gather(*tasks)
    assert results == ["FIRST", *(n.upper() for n in names)]
    assert store.transactions == [["first"], names]
    assert seen == [1, 5]


async def test_a_group_takes_at_most_max_calls() -> None:
    store = Store()
    group = grouped(store, concurrency=1, max_calls=2)
    gate, tasks = await queued_behind_a_gate(group, *(group.run(add, f"l{n}") for n in range(5)))
    gate.set()
    await asyncio.gather(*tasks)
    assert store.transactions == [["first"], ["l0", "l1"], ["l2", "l3"], ["l4"]]


async def test_a_refused_call_gets_its_error_and_the_others_commit_once() -> None:
    store, seen = Store(), []
    group = grouped(store, concurrency=1, observe=seen.append)
    gate, tasks = await queued_behind_a_gate(
        group, group.run(add, "ana"), group.run(refuse, "bad"), group.run(add, "ben")
    )
    gate.set()
    assert await answers(tasks) == ["FIRST", "ANA", "bad", "BEN"]
    # the group rolled back; the refused call ran alone, the others again as one group
    assert store.transactions == [["first"], ["ana", "ben"]]
    assert seen == [1, 2]


async def test_each_refused_call_is_taken_out_and_the_rest_commit_together() -> None:
    store = Store()
    group = grouped(store, concurrency=1)
    gate, tasks = await queued_behind_a_gate(
        group,
        group.run(add, "ana"),
        group.run(refuse, "bad-1"),
        group.run(refuse, "bad-2"),
        group.run(add, "ben"),
    )
    gate.set()
    assert await answers(tasks) == ["FIRST", "ANA", "bad-1", "bad-2", "BEN"]
    assert store.transactions == [["first"], ["ana", "ben"]]


async def test_after_refusals_per_group_the_rest_run_alone() -> None:
    store = Store()
    group = grouped(store, concurrency=1)
    bad = [f"bad-{n}" for n in range(REFUSALS_PER_GROUP + 1)]
    gate, tasks = await queued_behind_a_gate(
        group, group.run(add, "ana"), *(group.run(refuse, b) for b in bad), group.run(add, "ben")
    )
    gate.set()
    assert await answers(tasks) == ["FIRST", "ANA", *bad, "BEN"]
    assert store.transactions == [["first"], ["ana"], ["ben"]]


async def test_a_commit_refused_before_committing_runs_each_call_alone() -> None:
    store = Store()
    store.commit_error = ValueError("event too large")
    group = grouped(store, concurrency=1)
    gate, tasks = await queued_behind_a_gate(
        group, group.run(add, "ana"), group.run(add, "big"), group.run(add, "ben")
    )
    gate.set()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    assert results[:2] == ["FIRST", "ANA"] and results[3] == "BEN"
    assert results[2] is store.commit_error
    assert store.transactions == [["first"], ["ana"], ["ben"]]


async def test_a_commit_in_doubt_is_every_callers_error_and_never_run_again() -> None:
    store = Store()
    lost = DBAPIError("COMMIT", None, OSError("connection lost"), connection_invalidated=True)
    store.commit_error = lost
    ran: list[str] = []

    async def counted(uow: FakeUnitOfWork, name: str) -> str:
        ran.append(name)
        return await add(uow, name)

    group = grouped(store, concurrency=1)
    gate, tasks = await queued_behind_a_gate(
        group, group.run(counted, "ana"), group.run(counted, "big")
    )
    gate.set()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    assert results == ["FIRST", lost, lost]
    assert ran == ["ana", "big"]


async def test_calls_with_the_same_distinct_value_never_share_or_overlap_a_group() -> None:
    store, clashes = Store(), []

    async def claim(uow: FakeUnitOfWork, key: str) -> str:
        # Noted, not asserted here: a handler's error would only make the group run again.
        clashes.extend(key for u in store.open if key in u.rows)
        return await add(uow, key)

    group = grouped(store, concurrency=2)
    keys = ["k1", "k1", "k2", "k1", "k3", "k2"]
    gate, tasks = await queued_behind_a_gate(
        group, *(group.run(claim, key, distinct=key) for key in keys), lanes=2
    )
    gate.set()
    assert await asyncio.gather(*tasks) == ["FIRST", "SECOND", *(k.upper() for k in keys)]
    assert sorted(store.rows) == sorted(["first", "second", *keys])
    assert clashes == []
    assert all(len(set(rows)) == len(rows) for rows in store.transactions)


async def test_a_caller_gone_does_not_stop_its_group_or_the_others() -> None:
    store = Store()
    group = grouped(store, concurrency=1)
    held = asyncio.Event()
    gate, tasks = await queued_behind_a_gate(
        group, group.run(add, "ana"), group.run(add, "gone", held), group.run(add, "ben")
    )
    gate.set()
    await wait_for(_open_with(store, "gone"), what="the group to run 'gone'", timeout_s=5)
    tasks[2].cancel()
    held.set()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    assert results[:2] == ["FIRST", "ANA"] and results[3] == "BEN"
    assert isinstance(results[2], asyncio.CancelledError)
    assert store.transactions == [["first"], ["ana", "gone", "ben"]]


async def test_a_caller_gone_while_queued_never_runs() -> None:
    store = Store()
    group = grouped(store, concurrency=1)
    gate, tasks = await queued_behind_a_gate(group, group.run(add, "gone"), group.run(add, "ben"))
    tasks[1].cancel()
    gate.set()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    assert results[0] == "FIRST" and results[2] == "BEN"
    assert store.transactions == [["first"], ["ben"]]


async def test_max_calls_1_runs_every_call_alone_without_queueing() -> None:
    store, seen = Store(), []
    group = grouped(store, max_calls=1, concurrency=1, observe=seen.append)
    gate = asyncio.Event()
    first = asyncio.create_task(group.run(add, "first", gate))
    await wait_for(_open_with(store, "first"), what="the first call to run", timeout_s=5)
    assert await group.run(add, "ana") == "ANA"  # not behind the first one
    gate.set()
    assert await first == "FIRST"
    assert store.transactions == [["ana"], ["first"]]
    assert seen == [1, 1]


def test_max_calls_and_concurrency_are_at_least_1() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        grouped(Store(), max_calls=0)


def _open_with(store: Store, name: str) -> Any:
    async def check() -> bool:
        return any(name in u.rows for u in store.open)

    return check
