"""The Slack connector: the lead alert as a Block Kit message to the owner's direct messages
(the rep found by email) and to the team's channel (the agreement's `slack_channel`), and the
SLA ladder's warnings to the rep and the manager.

Each message is posted once: its key (the alert's event id and the recipient: `:rep`,
`:channel`, `:manager`) travels in the message metadata, where `SlackClient.post_once` finds it
before posting again, and the posted ts is kept in the job's progress, so a retry skips it
without asking Slack. A recipient Slack does not know (users_not_found) is not an error: the
other recipients still get theirs, the job ends ok and its progress says who was skipped (a
retry loop would not make the person join the workspace; an admin redelivers once they have).

The event alone does not say everything a message shows (the agreement's rejection reasons
and team channel; on a reassignment or breach, the rep's email, their manager and the lead's
name): routing captured them when it queued the job (`job.context`), so a perform reads no
database, only Slack.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from leadloop_connectors.slack import (
    LeadCard,
    SlackApiError,
    SlackClient,
    SlackMessage,
    SlaWarning,
    lead_alert_blocks,
    sla_warning_blocks,
)
from leadloop_events.handoff import LeadAssigned, LeadReassigned, SlaBreached
from leadloop_events.lifecycle import LeadIntelligence
from leadloop_routing.adapters import alert_text
from leadloop_routing.config import Settings
from leadloop_routing.domain.connectors import ConnectorJob, ConnectorResult

NAME = "slack"
# The ladder's steps while the lead is still the rep's: the rep is warned.
REP_STEPS = frozenset({"warn", "notify_manager"})
# The escalations: the rep's manager is told.
MANAGER_STEPS = frozenset({"notify_manager", "reassign", "queue"})


def journey_url(dashboard_url: str, lead_id: str) -> str:
    """The lead's journey page, as the CRM tasks link it (`alert_text.journey_url`: feedback's
    `/v1/leads/{lead_id}/journey` on the dashboard's origin, which the dashboard links to)."""
    link = alert_text.journey_url(dashboard_url, lead_id)
    if link is None:
        raise ValueError("no dashboard URL: the journey link cannot be made")
    return link


def lead_card(
    lead_id: str,
    assignment_id: str,
    team: str,
    deadline: datetime,
    intelligence: LeadIntelligence,
    journey: str,
) -> LeadCard:
    """What the alert shows of an SQL: who, why sales-ready, what they did, by when."""
    profile = intelligence.profile
    name = " ".join(p for p in (profile.first_name, profile.last_name) if p) or profile.email
    return LeadCard(
        lead_id=lead_id,
        assignment_id=assignment_id,
        name=name,
        email=profile.email,
        grade=intelligence.grade,
        fit=intelligence.fit,
        interest=intelligence.interest,
        sla_deadline=deadline,
        journey_url=journey,
        title=profile.job_title,
        company=profile.company,
        team=team,
        why=tuple((line.points, line.reason) for line in intelligence.breakdown),
        activity=tuple((e.activity_type, e.occurred_at) for e in intelligence.timeline),
    )


@dataclass
class SlackConnector:
    """Routing's connector "slack" (see the module's docstring)."""

    client: Callable[[], SlackClient]
    dashboard_url: str
    name: str = field(default=NAME, init=False)

    def handles(self, event_type: str) -> bool:
        """The lead alert, a reassignment to another rep, and the SLA ladder's steps."""
        return event_type in (
            LeadAssigned.event_type,
            LeadReassigned.event_type,
            SlaBreached.event_type,
        )

    async def perform(self, job: ConnectorJob, progress: dict[str, Any]) -> ConnectorResult:
        """Post the job's messages not posted yet; progress keeps each one's ts."""
        if job.event_type == LeadAssigned.event_type:
            await self.alert(job, LeadAssigned.model_validate(job.data), progress)
        elif job.event_type == LeadReassigned.event_type:
            await self.reassigned(job, LeadReassigned.model_validate(job.data), progress)
        else:
            await self.breached(job, SlaBreached.model_validate(job.data), progress)
        return ConnectorResult.ok()

    async def alert(self, job: ConnectorJob, data: LeadAssigned, progress: dict[str, Any]) -> None:
        """The lead alert to the owner (by email) and to the team's channel."""
        reasons, channel = job.context.reasons(), job.context.slack_channel
        journey = journey_url(self.dashboard_url, data.lead_id)
        card = lead_card(
            data.lead_id,
            data.assignment_id,
            data.team,
            data.sla_deadline,
            data.intelligence,
            journey,
        )
        message = lead_alert_blocks(card, reasons)
        tags = {"lead_id": data.lead_id, "assignment_id": data.assignment_id}
        async with self.client() as slack:
            if data.owner_email:
                await self.to_person(slack, job, "rep", data.owner_email, message, progress, tags)
            if channel and "channel_ts" not in progress:
                key = f"{job.event_id}:channel"
                progress["channel_ts"] = await slack.post_once(
                    channel, key, message.text, message.blocks, payload=tags
                )

    async def reassigned(
        self, job: ConnectorJob, data: LeadReassigned, progress: dict[str, Any]
    ) -> None:
        """The lead alert to the rep the SLA moved the lead to (nothing for the team queue)."""
        if data.to_rep_id is None or data.sla_deadline is None:
            return
        rep, intelligence = job.context.rep, data.intelligence
        if rep is None or intelligence is None:  # removed meanwhile, or erased
            progress["rep_skipped"] = "the rep or the lead's intelligence is gone"
            return
        reasons = job.context.reasons()
        journey = journey_url(self.dashboard_url, data.lead_id)
        card = lead_card(
            data.lead_id, data.assignment_id, data.team, data.sla_deadline, intelligence, journey
        )
        tags = {"lead_id": data.lead_id, "assignment_id": data.assignment_id}
        async with self.client() as slack:
            message = lead_alert_blocks(card, reasons)
            await self.to_person(slack, job, "rep", rep.email, message, progress, tags)

    async def breached(
        self, job: ConnectorJob, data: SlaBreached, progress: dict[str, Any]
    ) -> None:
        """A missed first touch: the rep warned while the lead is theirs, the manager told
        on the escalations."""
        rep = job.context.rep
        if rep is None:  # the team queue's lead, or a rep removed meanwhile
            return
        warning = SlaWarning(
            lead_id=data.lead_id,
            name=job.context.lead_name or f"lead {data.lead_id}",
            deadline=data.deadline,
            journey_url=journey_url(self.dashboard_url, data.lead_id),
            company=job.context.company,
            rep_name=rep.name,
            breached=True,
        )
        tags = {"lead_id": data.lead_id, "assignment_id": data.assignment_id, "step": data.step}
        async with self.client() as slack:
            if data.step in REP_STEPS:
                message = sla_warning_blocks(warning)
                await self.to_person(slack, job, "rep", rep.email, message, progress, tags)
            if data.step in MANAGER_STEPS and rep.manager_email:
                message = sla_warning_blocks(_to_manager(warning))
                await self.to_person(
                    slack, job, "manager", rep.manager_email, message, progress, tags
                )

    async def to_person(
        self,
        slack: SlackClient,
        job: ConnectorJob,
        who: str,
        email: str,
        message: SlackMessage,
        progress: dict[str, Any],
        tags: dict[str, str],
    ) -> None:
        """`message` in the direct messages of the Slack member with `email`, once; a person
        not in the workspace is noted in progress and skipped."""
        if f"{who}_ts" in progress:
            return
        try:
            user = await slack.user_id_by_email(email)
        except SlackApiError as exc:
            if exc.error != "users_not_found":
                raise
            progress[f"{who}_skipped"] = f"{email} is not in the Slack workspace (users_not_found)"
            return
        channel = await slack.open_dm(user)
        key = f"{job.event_id}:{who}"
        progress[f"{who}_ts"] = await slack.post_once(
            channel, key, message.text, message.blocks, payload=tags
        )
        progress.pop(f"{who}_skipped", None)


def _to_manager(warning: SlaWarning) -> SlaWarning:
    return SlaWarning(
        lead_id=warning.lead_id,
        name=warning.name,
        deadline=warning.deadline,
        journey_url=warning.journey_url,
        company=warning.company,
        rep_name=warning.rep_name,
        to_manager=True,
        breached=warning.breached,
    )


def connector(settings: Settings) -> SlackConnector:
    """The Slack connector of routing's settings (LEADLOOP_SLACK_BOT_TOKEN, _API_URL, and
    LEADLOOP_DASHBOARD_URL for the journey link every message carries)."""
    if settings.slack_bot_token is None:
        raise ValueError("the Slack connector needs LEADLOOP_SLACK_BOT_TOKEN")
    dashboard = settings.dashboard_url
    if not dashboard or urlsplit(dashboard).scheme not in ("http", "https"):
        raise ValueError(
            "LEADLOOP_SLACK_BOT_TOKEN needs LEADLOOP_DASHBOARD_URL (feedback's dashboard, e.g. "
            f"https://leadloop.example.com/dashboard) for the journey link; got {dashboard!r}"
        )
    token = settings.slack_bot_token.get_secret_value()
    api_url = settings.slack_api_url

    def client() -> SlackClient:
        return SlackClient(api_url, token)

    return SlackConnector(client, dashboard)
