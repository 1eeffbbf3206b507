"""Performs due connector deliveries (CRM owner and task, Slack message) the way webhooks are
sent: a short transaction leases jobs (FOR UPDATE SKIP LOCKED; one per connector and lead, so
a lead's events reach each vendor in order) and commits; each job is performed with no
transaction open, from the progress its earlier attempts left; another short transaction
records the outcome and the new progress, only if the lease still holds. A process that dies
mid-perform leaves the job to be performed again after its lease, from the same progress: the
connectors' idempotent forms (upsert by external id, a task found by the alert id) make that
one effect. A vendor that is down only leaves rows pending: routing's consumer never waits."""

from __future__ import annotations

import asyncio
import copy
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from leadloop_connectors.http import ConnectorError, PermanentError, RateLimited
from leadloop_db.uow import Transactions
from leadloop_routing import metrics
from leadloop_routing.adapters.uow import SqlUnitOfWork
from leadloop_routing.domain.connectors import (
    Connector,
    ConnectorDelivery,
    ConnectorResult,
    JobAttempt,
    LeaseConnectorJobs,
    RecordConnectorAttempt,
)
from leadloop_routing.handlers.connectors import lease_connector_jobs, record_connector_attempt

log = logging.getLogger(__name__)
# A lease outlives the perform's deadline by this much, so only a dead process loses one.
LEASE_MARGIN_S = 10.0


def result_of_error(exc: ConnectorError) -> ConnectorResult:
    """A raised vendor error as a result: a 429 waits for Retry-After, a refused request fails
    for good, anything else (5xx, timeout, connection, credentials) retries on the schedule."""
    if isinstance(exc, RateLimited):
        return ConnectorResult.retry(str(exc), after_s=exc.retry_after_s)
    if isinstance(exc, PermanentError):
        return ConnectorResult.failed(str(exc))
    return ConnectorResult.retry(f"{type(exc).__name__}: {exc}")


def outcome_label(result: ConnectorResult) -> str:
    """The metric's outcome for a result."""
    if result.outcome == "retry" and result.retry_after_s is not None:
        return "rate_limited"
    return result.outcome


@dataclass(frozen=True)
class Performed:
    """A perform's attempt and the progress it leaves, not yet recorded."""

    delivery: ConnectorDelivery
    attempt: JobAttempt
    progress: dict[str, Any]


class ConnectorDeliveries:
    """Performs due connector jobs, concurrently across leads, one at a time per lead."""

    def __init__(
        self,
        transactions: Transactions[SqlUnitOfWork],
        connectors: Sequence[Connector],
        batch: int,
        concurrency: int = 8,
        timeout_s: float = 60.0,
    ) -> None:
        self.transactions, self.batch = transactions, batch
        self.connectors = {c.name: c for c in connectors}
        self.concurrency, self.timeout_s = concurrency, timeout_s

    async def run_once(self, now: datetime | None = None) -> int:
        """Perform every due job once; record each outcome and schedule its retry."""
        if not self.connectors:
            return 0
        now = now or datetime.now(UTC)
        attempted = 0
        while attempted < self.batch:
            claimed = await self.lease(now, min(self.concurrency, self.batch - attempted))
            if not claimed:
                break
            # Every job is performed and recorded; a bug in one connector is its own attempt.
            await asyncio.gather(*(self.attempt(d, now) for d in claimed))
            attempted += len(claimed)
        return attempted

    async def lease(self, now: datetime, limit: int) -> list[ConnectorDelivery]:
        """Claim up to `limit` due jobs until the perform's deadline (plus a margin)."""
        # From the later of the round's time and the clock: a long round's leases still hold.
        start = max(now, datetime.now(UTC))
        until = start + timedelta(seconds=self.timeout_s + LEASE_MARGIN_S)
        command = LeaseConnectorJobs(now, limit, until, tuple(self.connectors))
        return await self.transactions.run(lease_connector_jobs, command)

    async def attempt(self, delivery: ConnectorDelivery, now: datetime) -> bool:
        """Perform one leased job, then record it; False when its lease was taken meanwhile."""
        return await self.record(await self.perform(delivery, now))

    async def perform(self, delivery: ConnectorDelivery, now: datetime) -> Performed:
        """Run the connector on the job (no transaction open), from its recorded progress."""
        connector = self.connectors[delivery.connector]
        progress = copy.deepcopy(delivery.progress)
        started = time.perf_counter()
        label: str | None = None
        try:
            async with asyncio.timeout(self.timeout_s):
                result = await connector.perform(delivery.job(), progress)
        except ConnectorError as exc:
            result = result_of_error(exc)
        except TimeoutError:
            result = ConnectorResult.retry(f"timed out after {self.timeout_s:g} s")
        except Exception as exc:  # a connector's bug: logged, recorded, retried on the schedule
            log.exception("connector %s failed on %s", delivery.connector, delivery.delivery_id)
            result, label = ConnectorResult.retry(f"{type(exc).__name__}: {exc}"[:1000]), "error"
        duration_ms = (time.perf_counter() - started) * 1000
        metrics.CONNECTOR_DELIVERIES.labels(
            delivery.connector, label or outcome_label(result)
        ).inc()
        error = None if result.error is None else result.error[:1000]
        attempt = JobAttempt(now, result.outcome, error, result.retry_after_s, duration_ms)
        kept = progress if result.progress is None else result.progress
        return Performed(delivery, attempt, kept)

    async def record(self, performed: Performed) -> bool:
        """Record a perform's attempt and progress, if its lease still holds."""
        command = RecordConnectorAttempt(performed.delivery, performed.attempt, performed.progress)
        return await self.transactions.run(record_connector_attempt, command)
