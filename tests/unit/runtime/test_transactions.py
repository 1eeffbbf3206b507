"""The transaction runner: a handler runs in a fresh unit of work that commits exactly once."""

from __future__ import annotations

from types import TracebackType
from typing import Self

import pytest

from leadloop_db.uow import Transactions, UnitOfWork


class FakeUnitOfWork(UnitOfWork):
    """Records opening, committing and closing; no database."""

    # No super().__init__: it wants an engine, and nothing here touches the database.
    def __init__(self, log: list[str]) -> None:
        self.log = log

    async def __aenter__(self) -> Self:
        self.log.append("open")
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.log.append("close")

    async def commit(self) -> None:
        self.log.append("commit")


async def add_lead(uow: FakeUnitOfWork, lead_id: str, *, source: str) -> str:
    uow.log.append(f"handle {lead_id} from {source}")
    return lead_id.upper()


async def refuse(uow: FakeUnitOfWork, lead_id: str) -> None:
    uow.log.append("handle")
    raise LookupError(lead_id)


async def test_the_handler_runs_inside_and_the_unit_of_work_commits_once() -> None:
    log: list[str] = []
    transactions = Transactions(lambda: FakeUnitOfWork(log))
    result = await transactions.run(add_lead, "lead-ana", source="form")
    assert result == "LEAD-ANA"
    assert log == ["open", "handle lead-ana from form", "commit", "close"]


async def test_a_failing_handler_commits_nothing_and_the_error_reaches_the_caller() -> None:
    log: list[str] = []
    transactions = Transactions(lambda: FakeUnitOfWork(log))
    with pytest.raises(LookupError):
        await transactions.run(refuse, "lead-ghost")
    assert log == ["open", "handle", "close"]


async def test_each_run_opens_its_own_unit_of_work() -> None:
    log: list[str] = []
    transactions = Transactions(lambda: FakeUnitOfWork(log))
    await transactions.run(add_lead, "lead-ana", source="form")
    await transactions.run(add_lead, "lead-bo", source="csv")
    assert log.count("open") == 2 and log.count("commit") == 2
