"""What the two CRM connectors share: they act on the lead alert and the reassignment, a job's
event is read and handed to their `assigned` or `reassigned`, and a rep the CRM does not know
fails the job with how to fix it."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

from pydantic import ValidationError

from leadloop_events.handoff import LeadAssigned, LeadReassigned
from leadloop_routing.domain.connectors import ConnectorJob, ConnectorResult

ASSIGNED = LeadAssigned.event_type
REASSIGNED = LeadReassigned.event_type


def missing_crm_id(system: str, title: str, id_name: str, rep_id: str) -> str:
    """The error of a rep the CRM does not know, and how to fix it."""
    return (
        f"rep {rep_id} has no {title} {id_name}: run `leadloop reps sync --from {system}`, or "
        f'PUT /v1/reps/{rep_id} with "crm_ids": {{"{system}": "<{id_name}>"}}, then redeliver'
    )


class CrmAlertActions(ABC):
    """A CRM connector: its name, its title in messages, and the two events' steps."""

    name: str
    title: str

    def handles(self, event_type: str) -> bool:
        """The alert and the reassignment."""
        return event_type in (ASSIGNED, REASSIGNED)

    async def perform(self, job: ConnectorJob, progress: dict[str, Any]) -> ConnectorResult:
        """Do the job's remaining steps; raise the client's errors."""
        try:
            if job.event_type == ASSIGNED:
                return await self.assigned(job, LeadAssigned.model_validate(job.data), progress)
            if job.event_type == REASSIGNED:
                return await self.reassigned(job, LeadReassigned.model_validate(job.data), progress)
        except ValidationError as exc:
            return ConnectorResult.failed(f"not a readable {job.event_type}: {exc}"[:1000])
        return ConnectorResult.failed(
            f"the {self.title} connector does not handle {job.event_type}"
        )

    @abstractmethod
    async def assigned(
        self, job: ConnectorJob, alert: LeadAssigned, progress: dict[str, Any]
    ) -> ConnectorResult:
        """The lead alert's steps."""

    @abstractmethod
    async def reassigned(
        self, job: ConnectorJob, moved: LeadReassigned, progress: dict[str, Any]
    ) -> ConnectorResult:
        """The reassignment's steps."""
