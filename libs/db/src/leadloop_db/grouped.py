"""Group commit: concurrent commands that would each be a transaction share one.

An HTTP edge runs one short command per request; most of its cost is the transaction around it
(pool checkout, BEGIN, outbox insert, NOTIFY, COMMIT). `GroupCommit.run` queues the call; a
group takes what is queued (up to `max_calls`), runs each handler in turn, in arrival order, in
one unit of work, and commits once; each caller gets its own result. Nothing waits when idle: a
call that finds a free lane starts a group at once; while `concurrency` groups run, new calls
queue up and the next group takes them (natural group commit).

A group that fails commits nothing and is run again so that each caller gets what it would have
got alone: the call whose handler raised runs alone (its own result or error) and the others run
again as one group, up to REFUSALS_PER_GROUP times; after that, or when the commit itself failed,
each runs alone (Transactions.run). A commit that lost its connection may have committed: every
caller gets that error, nothing is run twice. Calls with the same `distinct` value (an
idempotency key) are never in a group, nor in two running groups, at the same time.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar, TypeVarTuple

from sqlalchemy.exc import DBAPIError

from leadloop_db.uow import Transactions, UnitOfWork

U = TypeVar("U", bound=UnitOfWork)
R = TypeVar("R")
Ts = TypeVarTuple("Ts")
REFUSALS_PER_GROUP = 3
"""Handlers of one group that may raise before its other calls stop retrying as a group."""


@dataclass(eq=False)
class _Call:
    handler: Callable[..., Awaitable[Any]]
    args: tuple[Any, ...]
    distinct: Hashable | None
    answer: asyncio.Future[Any]


class _Refused(Exception):
    """A handler of the group raised: the group rolled back (`index`: whose handler)."""

    def __init__(self, index: int) -> None:
        super().__init__(index)
        self.index = index


def _in_doubt(exc: BaseException) -> bool:
    """Whether a commit that raised this may have committed all the same (the connection was
    lost while COMMIT was on its way): running its calls again could apply them twice."""
    return isinstance(exc, OSError) or (isinstance(exc, DBAPIError) and exc.connection_invalidated)


def _settle(call: _Call, result: Any = None, error: BaseException | None = None) -> None:
    """Answer the caller, unless it is gone (its future cancelled)."""
    if call.answer.done():
        return
    if error is not None:
        call.answer.set_exception(error)
    else:
        call.answer.set_result(result)


class GroupCommit(Generic[U]):
    """Runs handlers as `Transactions.run` does, several concurrent ones in one transaction."""

    def __init__(
        self,
        transactions: Transactions[U],
        *,
        max_calls: int = 64,
        concurrency: int = 4,
        observe: Callable[[int], None] | None = None,
    ) -> None:
        if max_calls < 1 or concurrency < 1:
            raise ValueError("max_calls and concurrency must be at least 1")
        self.transactions = transactions
        self.max_calls = max_calls
        self.concurrency = concurrency
        self.observe = observe
        self._queue: deque[_Call] = deque()
        self._lanes = 0
        self._held: set[Hashable] = set()  # the distinct values of the calls in running groups
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def queued(self) -> int:
        """Calls waiting for a group."""
        return len(self._queue)

    async def run(
        self,
        handler: Callable[[U, *Ts], Awaitable[R]],
        *args: *Ts,
        distinct: Hashable | None = None,
    ) -> R:
        """`handler(uow, *args)` committed, alone or with concurrent calls; its own result or
        error. A caller cancelled while queued is dropped; once its group runs, the group goes
        on without it."""
        if self.max_calls == 1:
            result = await self.transactions.run(handler, *args)
            self._observe(1)
            return result
        return await self._queued(handler, args, distinct)

    async def _queued(
        self, handler: Callable[..., Awaitable[R]], args: tuple[Any, ...], distinct: Hashable | None
    ) -> R:
        call = _Call(handler, args, distinct, asyncio.get_running_loop().create_future())
        self._queue.append(call)
        if self._lanes < self.concurrency:
            calls = self._take()
            if calls:
                self._lanes += 1
                task = asyncio.create_task(self._lane(calls), name="group-commit")
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
        result: R = await call.answer
        return result

    def _take(self) -> list[_Call]:
        """The next group: queued calls in arrival order, up to `max_calls`, skipping callers
        gone and calls whose `distinct` value a running group (or this one) holds."""
        taken: list[_Call] = []
        waiting: list[_Call] = []
        while self._queue and len(taken) < self.max_calls:
            call = self._queue.popleft()
            if call.answer.done():
                continue
            if call.distinct is not None:
                if call.distinct in self._held:
                    waiting.append(call)
                    continue
                self._held.add(call.distinct)
            taken.append(call)
        self._queue.extendleft(reversed(waiting))
        return taken

    async def _lane(self, calls: list[_Call]) -> None:
        """Run groups until nothing can be taken; the lane that held a distinct value takes the
        calls that waited for it, so no queued call is left without a lane."""
        try:
            while calls:
                try:
                    await self._group(calls)
                finally:
                    # A lane cancelled (the service stopping) leaves no caller waiting; an
                    # answered call's future is done, and cancelling it does nothing.
                    for call in calls:
                        call.answer.cancel()
                    self._held.difference_update(c.distinct for c in calls)
                calls = self._take()
        finally:
            self._lanes -= 1

    async def _group(self, calls: list[_Call]) -> None:
        """Run the calls in one transaction; after a failure, as they would have run alone: the
        call whose handler raised alone, the others again as a group (after REFUSALS_PER_GROUP
        refusals, or a commit that failed, each alone)."""
        refusals = 0
        while True:
            calls = [c for c in calls if not c.answer.done()]
            if len(calls) <= 1:
                break
            try:
                await self._together(calls)
                return
            except _Refused as refused:
                await self._alone(calls.pop(refused.index))
                refusals += 1
                if refusals == REFUSALS_PER_GROUP:
                    break
            except Exception as exc:  # noqa: BLE001 - the commit failed: answered or run alone
                if _in_doubt(exc):
                    for call in calls:
                        _settle(call, error=exc)
                    return
                break
        for call in calls:
            await self._alone(call)

    async def _together(self, calls: list[_Call]) -> None:
        """Each handler in turn in one unit of work, one commit, then every caller's result."""
        results: list[Any] = []
        async with self.transactions.uow_factory() as uow:
            for index, call in enumerate(calls):
                uow.next_step()  # `uow.events`: this call's own, as in a transaction of its own
                try:
                    results.append(await call.handler(uow, *call.args))
                except Exception as exc:
                    raise _Refused(index) from exc
            await uow.commit()
        self._observe(len(calls))
        for call, result in zip(calls, results, strict=True):
            _settle(call, result)

    async def _alone(self, call: _Call) -> None:
        """The call in a transaction of its own: exactly what it gets without grouping."""
        if call.answer.done():
            return
        try:
            result = await self.transactions.run(call.handler, *call.args)
        except Exception as exc:  # noqa: BLE001 - handed to its caller, raised there
            _settle(call, error=exc)
            return
        self._observe(1)
        _settle(call, result)

    def _observe(self, calls: int) -> None:
        if self.observe is not None:
            self.observe(calls)
