"""Routing's handlers driven the way the runtime drives them: events through the real
registry, commands through the real transaction runner, state in the in-memory fakes."""

from __future__ import annotations

from datetime import UTC, datetime, time
from typing import Any

from leadloop_db.uow import Transactions
from leadloop_events.envelope import EventData, new_event
from leadloop_routing.alerts import Outbound
from leadloop_routing.domain.calendar import WorkingCalendar
from leadloop_routing.domain.model import Rep
from leadloop_routing.handlers import registry

from ...factories import agreement_published
from .fakes import FakeTransactions

ALWAYS = WorkingCalendar("UTC", time(0), time(23, 59, 59), frozenset(range(7)))
OUTBOUND = Outbound(email_enabled=True)


def rep(rep_id: str, *teams: str, weight: int = 1, **fields: Any) -> Rep:
    """A rep at work around the clock, with a manager to escalate to."""
    return Rep(
        rep_id=rep_id,
        name=rep_id.removeprefix("rep-").title(),
        email=f"{rep_id}@northwind.example",
        teams=teams or ("dach",),
        weight=weight,
        calendar=ALWAYS,
        manager_email="head-of-sales@northwind.example",
        **fields,
    )


class Routing:
    """The in-memory routing service: `send` an event, `run` a command."""

    def __init__(self) -> None:
        self.uow = FakeTransactions()
        self.repo = self.uow.repo
        self.handlers = registry(outbound=OUTBOUND).handlers()
        self.transactions = Transactions(lambda: self.uow)

    async def send(self, data: EventData, correlation_id: str | None = None) -> None:
        """Deliver one event to its handler in the registry, in one unit of work."""
        event = new_event(data, subject=getattr(data, "lead_id", "agreement"))
        handler = self.handlers[event.type]
        await self.transactions.run(handler, event, data)

    async def start(self, *reps: Rep) -> None:
        """The example agreement in force and these reps on staff."""
        await self.send(agreement_published())
        for r in reps:
            await self.repo.save_rep(r, datetime.now(UTC))
