"""Connector deliveries (queued by alerts.Outbound with the lead event they carry): the
short transactions around each perform: lease (commit), perform with no transaction open (the
worker), record the outcome and progress (commit)."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import datetime

from leadloop_platform.http.paging import PageRequest
from leadloop_routing.adapters.connector_deliveries import ConnectorUnitOfWork
from leadloop_routing.adapters.webhook_sender import next_attempt_delay
from leadloop_routing.domain.connectors import (
    ConnectorDelivery,
    ConnectorDeliveryNotFound,
    LeaseConnectorJobs,
    RecordConnectorAttempt,
    RedeliverConnectorJob,
    job_outcome,
)


async def lease_connector_jobs(
    uow: ConnectorUnitOfWork, command: LeaseConnectorJobs
) -> list[ConnectorDelivery]:
    """Claim due jobs, at most one per connector and lead, until the lease ends."""
    due = await uow.connectors.due(command.connectors, command.now, command.limit)
    taken: set[tuple[str, str]] = set()
    claimed: list[ConnectorDelivery] = []
    for delivery in due:
        line = (delivery.connector, delivery.lead_id)
        if line not in taken and len(claimed) < command.limit:
            taken.add(line)
            claimed.append(delivery)
    if not claimed:
        return []
    lease_id = str(uuid.uuid4())
    await uow.connectors.lease([d.delivery_id for d in claimed], lease_id, command.until)
    return [_leased(d, lease_id, command.until) for d in claimed]


def _leased(delivery: ConnectorDelivery, lease_id: str, until: datetime) -> ConnectorDelivery:
    """The delivery as its lease left it."""
    return dataclasses.replace(delivery, lease_id=lease_id, next_attempt_at=until)


async def record_connector_attempt(
    uow: ConnectorUnitOfWork, command: RecordConnectorAttempt
) -> bool:
    """Log the attempt and its progress: succeeded, retried, or failed for good; False when
    the lease was taken meanwhile (this late writer records nothing)."""
    outcome = job_outcome(command.delivery, command.attempt, command.progress, next_attempt_delay)
    return await uow.connectors.record(outcome)


async def list_connector_deliveries(
    uow: ConnectorUnitOfWork,
    connector: str | None,
    status: str | None,
    lead_id: str | None,
    page: PageRequest,
) -> list[ConnectorDelivery]:
    """A page of the connector delivery log, newest first."""
    return await uow.connectors.deliveries(connector, status, lead_id, page)


async def redeliver_connector_job(
    uow: ConnectorUnitOfWork, command: RedeliverConnectorJob
) -> ConnectorDelivery:
    """Perform a job again now, from its recorded progress."""
    delivery = await uow.connectors.redeliver(command.delivery_id, command.at)
    if delivery is None:
        raise ConnectorDeliveryNotFound(f"no connector delivery {command.delivery_id}")
    return delivery
