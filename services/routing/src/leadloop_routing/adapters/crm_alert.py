"""What the two CRM connectors share: they act on the lead alert and the reassignment, a job's
event is read and handed, with the owner's CRM id, to their `assigned` or `reassigned`; a lead
left in the team queue is skipped, a rep the CRM does not know fails the job with how to fix it;
each step is done once per job (`once`), so a redelivered job resumes where it stopped."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
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


async def once(progress: dict[str, Any], key: str, step: Callable[[], Awaitable[Any]]) -> Any:
    """Do `step` unless this job's progress already holds `key`. The id it returns (a string)
    is kept under `key`; any other result is recorded as done (True): progress is JSON."""
    if not progress.get(key):
        result = await step()
        progress[key] = result if isinstance(result, str) and result else True
    return progress[key]


class CrmAlertActions(ABC):
    """A CRM connector: its name, its title in messages, what it calls a user's id, and the
    two events' steps."""

    name: str
    title: str
    id_name: str

    def handles(self, event_type: str) -> bool:
        """The alert and the reassignment."""
        return event_type in (ASSIGNED, REASSIGNED)

    async def perform(self, job: ConnectorJob, progress: dict[str, Any]) -> ConnectorResult:
        """Do the job's remaining steps; raise the client's errors."""
        try:
            if job.event_type == ASSIGNED:
                alert = LeadAssigned.model_validate(job.data)
                rep_id, crm_ids, queued = alert.owner_rep_id, alert.owner_crm_ids, "assigned to"
            elif job.event_type == REASSIGNED:
                moved = LeadReassigned.model_validate(job.data)
                rep_id, crm_ids, queued = moved.to_rep_id, moved.to_crm_ids, "moved to"
            else:
                return ConnectorResult.failed(
                    f"the {self.title} connector does not handle {job.event_type}"
                )
        except ValidationError as exc:
            return ConnectorResult.failed(f"not a readable {job.event_type}: {exc}"[:1000])
        if rep_id is None:
            return ConnectorResult.ok({**progress, "skipped": f"{queued} the team queue"})
        owner = crm_ids.get(self.name)
        if owner is None:
            return ConnectorResult.failed(
                missing_crm_id(self.name, self.title, self.id_name, rep_id)
            )
        if job.event_type == ASSIGNED:
            return await self.assigned(job, alert, owner, progress)
        return await self.reassigned(job, moved, owner, progress)

    @abstractmethod
    async def assigned(
        self, job: ConnectorJob, alert: LeadAssigned, owner: str, progress: dict[str, Any]
    ) -> ConnectorResult:
        """The lead alert's steps for the rep whose CRM id is `owner`."""

    @abstractmethod
    async def reassigned(
        self, job: ConnectorJob, moved: LeadReassigned, owner: str, progress: dict[str, Any]
    ) -> ConnectorResult:
        """The reassignment's steps for the new rep, whose CRM id is `owner`."""
