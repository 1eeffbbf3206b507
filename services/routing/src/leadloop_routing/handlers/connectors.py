"""Connector deliveries (queued by alerts.Outbound with the lead event they carry): the
short transactions around each perform: lease (commit), perform with no transaction open (the
worker), record the outcome and progress (commit)."""

from __future__ import annotations

import dataclasses
import re
import uuid
from datetime import datetime
from typing import Any

from leadloop_contract.values import EXTERNAL_SYSTEMS, MAX_EXTERNAL_ID
from leadloop_events import topics
from leadloop_events.envelope import new_event
from leadloop_events.handoff import LeadLinked
from leadloop_platform.http.paging import PageRequest
from leadloop_routing.adapters.ports import RoutingUnitOfWork
from leadloop_routing.adapters.webhook_sender import next_attempt_delay
from leadloop_routing.alerts import SOURCE
from leadloop_routing.domain.connectors import (
    ConnectorDelivery,
    ConnectorDeliveryNotFound,
    LeaseConnectorJobs,
    RecordConnectorAttempt,
    RedeliverConnectorJob,
    job_outcome,
)


async def lease_connector_jobs(
    uow: RoutingUnitOfWork, command: LeaseConnectorJobs
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


_EXTERNAL_ID = re.compile(rf"[A-Za-z0-9_.:\-]{{1,{MAX_EXTERNAL_ID}}}")


async def record_connector_attempt(uow: RoutingUnitOfWork, command: RecordConnectorAttempt) -> bool:
    """Log the attempt and its progress: succeeded, retried, or failed for good; False when
    the lease was taken meanwhile (this late writer records nothing). A CRM id the attempt
    learned (progress["external_ids"], not in the progress before) is published as
    lead.linked in the same transaction: once, since the recorded progress then holds it."""
    outcome = job_outcome(command.delivery, command.attempt, command.progress, next_attempt_delay)
    if not await uow.connectors.record(outcome):
        return False
    before = _external_ids(command.delivery.progress)
    for system, external_id in _external_ids(command.progress).items():
        if before.get(system) != external_id:
            linked = LeadLinked(
                lead_id=command.delivery.lead_id,
                system=system,
                external_id=external_id,
                linked_at=command.attempt.at,
            )
            event = new_event(
                linked, source=SOURCE, subject=linked.lead_id, time=command.attempt.at
            )
            uow.publish(topics.HANDOFF, event)
    return True


def _external_ids(progress: dict[str, Any]) -> dict[str, str]:
    """The CRM ids a connector's progress names (systems leadloop knows, string ids)."""
    found = progress.get("external_ids")
    if not isinstance(found, dict):
        return {}
    # An id the event could not carry is not published: a bad id must not stop the record.
    return {
        str(k): v
        for k, v in found.items()
        if k in EXTERNAL_SYSTEMS and isinstance(v, str) and _EXTERNAL_ID.fullmatch(v)
    }


async def list_connector_deliveries(
    uow: RoutingUnitOfWork,
    connector: str | None,
    status: str | None,
    lead_id: str | None,
    page: PageRequest,
) -> list[ConnectorDelivery]:
    """A page of the connector delivery log, newest first."""
    return await uow.connectors.deliveries(connector, status, lead_id, page)


async def redeliver_connector_job(
    uow: RoutingUnitOfWork, command: RedeliverConnectorJob
) -> ConnectorDelivery:
    """Perform a job again now, from its recorded progress."""
    delivery = await uow.connectors.redeliver(command.delivery_id, command.at)
    if delivery is None:
        raise ConnectorDeliveryNotFound(f"no connector delivery {command.delivery_id}")
    return delivery
