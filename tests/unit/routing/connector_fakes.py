"""In-memory fakes for connector deliveries: the delivery log (as Postgres keeps it: one job
per connector and event, leased one at a time per connector and lead) and a test-only
connector whose every perform is scripted (no vendor code)."""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from leadloop_platform.http.paging import PageRequest
from leadloop_routing.domain.connectors import ConnectorDelivery, ConnectorJob, ConnectorResult
from leadloop_routing.domain.connectors import JobOutcome as Outcome

from ..fakes import paged

ASSIGNED = "leadloop.lead.assigned.v1"
REASSIGNED = "leadloop.lead.reassigned.v1"
BREACHED = "leadloop.lead.sla_breached.v1"


class FakeConnectorDeliveries:
    """The connector delivery log in a dict, kept in insertion order."""

    def __init__(self) -> None:
        self.rows: dict[str, ConnectorDelivery] = {}

    async def queue(self, delivery: ConnectorDelivery) -> None:
        if any(
            (d.connector, d.event_id) == (delivery.connector, delivery.event_id)
            for d in self.rows.values()
        ):
            return
        self.rows[delivery.delivery_id] = copy.deepcopy(delivery)

    async def due(
        self, connectors: Sequence[str], now: datetime, limit: int
    ) -> list[ConnectorDelivery]:
        heads: dict[tuple[str, str], ConnectorDelivery] = {}
        for d in self.rows.values():  # insertion order: the first pending one heads its line
            if d.status == "pending":
                heads.setdefault((d.connector, d.lead_id), d)
        due = [
            d
            for d in heads.values()
            if d.connector in connectors and d.next_attempt_at and d.next_attempt_at <= now
        ]
        return copy.deepcopy(sorted(due, key=lambda d: d.next_attempt_at or now)[: limit * 4])

    async def lease(self, delivery_ids: Sequence[str], lease_id: str, until: datetime) -> None:
        for i in delivery_ids:
            self.rows[i] = dataclasses.replace(
                self.rows[i], lease_id=lease_id, next_attempt_at=until
            )

    async def record(self, outcome: Outcome) -> bool:
        d = self.rows[outcome.delivery_id]
        if d.lease_id != outcome.lease_id or d.status != "pending":
            return False
        self.rows[d.delivery_id] = dataclasses.replace(
            d,
            attempts=outcome.attempts,
            progress=copy.deepcopy(outcome.progress),
            status=outcome.status,
            next_attempt_at=outcome.next_attempt_at,
            finished_at=outcome.finished_at,
            lease_id=None,
        )
        return True

    async def deliveries(
        self, connector: str | None, status: str | None, lead_id: str | None, page: PageRequest
    ) -> list[ConnectorDelivery]:
        found = [
            d
            for d in self.rows.values()
            if (not connector or d.connector == connector)
            and (not status or d.status == status)
            and (not lead_id or d.lead_id == lead_id)
        ]
        return paged(found, lambda d: (d.created_at, d.delivery_id), page, descending=True)

    async def redeliver(self, delivery_id: str, at: datetime) -> ConnectorDelivery | None:
        d = self.rows.get(delivery_id)
        if d is None or d.status == "cancelled" or not d.payload:
            return None
        in_flight = (
            d.lease_id is not None and d.next_attempt_at is not None and d.next_attempt_at > at
        )
        when = d.next_attempt_at if in_flight else at
        self.rows[delivery_id] = dataclasses.replace(
            d, status="pending", finished_at=None, next_attempt_at=when
        )
        return self.rows[delivery_id]

    async def erase(self, lead_id: str) -> None:
        for i, d in list(self.rows.items()):
            if d.lead_id == lead_id:
                status = "cancelled" if d.status == "pending" else d.status
                self.rows[i] = dataclasses.replace(
                    d,
                    payload={},
                    progress={},
                    context={},
                    status=status,
                    next_attempt_at=None,
                    lease_id=None,
                )

    def of(self, connector: str) -> list[ConnectorDelivery]:
        """The jobs of one connector, in the order queued."""
        return [d for d in self.rows.values() if d.connector == connector]


Step = ConnectorResult | Exception


class FakeConnector:
    """A test-only connector: its first perform of a job "creates a contact" (kept in the
    progress), then each perform takes the next scripted step (a result, or an error raised);
    once the script is spent, every perform succeeds."""

    def __init__(
        self, name: str = "hubspot", types: Iterable[str] = (ASSIGNED, REASSIGNED), *script: Step
    ) -> None:
        self.name = name
        self.types = frozenset(types)
        self.script = list(script)
        self.calls: list[tuple[ConnectorJob, dict[str, Any]]] = []
        self.contacts_created = 0

    def handles(self, event_type: str) -> bool:
        return event_type in self.types

    async def perform(self, job: ConnectorJob, progress: dict[str, Any]) -> ConnectorResult:
        self.calls.append((job, copy.deepcopy(progress)))
        if "contact_id" not in progress:
            self.contacts_created += 1
            progress["contact_id"] = f"contact-{job.lead_id}"
        step = self.script.pop(0) if self.script else ConnectorResult.ok()
        if isinstance(step, Exception):
            raise step
        return step
