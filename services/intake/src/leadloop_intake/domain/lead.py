"""Intake's entities: the lead (one per person), the submissions and activities kept for it,
and the record of a CSV import."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Literal

from leadloop_contract.profile import LeadProfile
from leadloop_contract.values import ExternalIds
from leadloop_intake.domain.model import Channel, FormSubmission, normalize_email

PROFILE_FIELDS = (
    "first_name",
    "last_name",
    "company",
    "job_title",
    "company_size",
    "industry",
    "country",
    "phone",
)


@dataclass(frozen=True)
class Lead:
    """A person intake knows, identified by the normalized email (gone once erased) and by
    their ids in other systems (`external_ids`, stored beside the lead)."""

    lead_id: str
    email_normalized: str | None
    email: str | None
    created_at: datetime
    updated_at: datetime
    first_name: str | None = None
    last_name: str | None = None
    company: str | None = None
    job_title: str | None = None
    company_size: int | None = None
    industry: str | None = None
    country: str | None = None
    phone: str | None = None
    first_source: str | None = None
    first_campaign: str | None = None
    erased_at: datetime | None = None
    external_ids: ExternalIds = field(default_factory=dict)

    @classmethod
    def first_seen(cls, lead_id: str, submission: FormSubmission, now: datetime) -> Lead:
        """The lead a person's first submission makes."""
        return cls(
            lead_id=lead_id,
            email_normalized=normalize_email(submission.email),
            email=submission.email,
            created_at=now,
            updated_at=now,
            first_source=submission.source,
            first_campaign=submission.campaign,
            external_ids=dict(submission.external_ids),
            **profile_of(submission),
        )

    def merged(self, submission: FormSubmission) -> Lead:
        """This lead updated by a later submission: its fields and ids win, empty ones never
        erase."""
        ids = {**self.external_ids, **submission.external_ids}
        return replace(self, email=submission.email, external_ids=ids, **profile_of(submission))

    def profile(self) -> LeadProfile:
        """What scoring reads about the person (a live lead has an email)."""
        if self.email is None:
            raise ValueError(f"lead {self.lead_id} was erased: it has no profile")
        return LeadProfile(email=self.email, **{f: getattr(self, f) for f in PROFILE_FIELDS})


def profile_of(submission: FormSubmission) -> dict[str, Any]:
    """The profile fields a submission fills in (the empty ones left out)."""
    return {f: v for f in PROFILE_FIELDS if (v := getattr(submission, f)) is not None}


@dataclass(frozen=True)
class Upserted:
    """A lead after an upsert by email, and whether the upsert created it."""

    lead: Lead
    inserted: bool


@dataclass(frozen=True)
class Submission:
    """One form fill, webhook call or import row, kept raw as it came."""

    submission_id: str
    lead_id: str
    channel: Channel
    source: str | None
    campaign: str | None
    form_id: str | None
    received_at: datetime
    submitted_at: datetime
    raw: str
    correlation_id: str | None = None


@dataclass(frozen=True)
class RecordedActivity:
    """A behaviour signal attached to a known lead."""

    activity_id: str
    lead_id: str
    activity_type: str
    occurred_at: datetime
    received_at: datetime
    url: str | None = None
    asset: str | None = None
    campaign: str | None = None
    properties: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ImportProgress:
    """What one batch of a CSV import added to the import's record."""

    import_id: str
    source: str | None
    campaign: str | None
    received_at: datetime
    rows_accepted: int
    rows_rejected: int
    finished_at: datetime | None
    new_leads: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)
    """This batch's rejected rows to report ({"line", "errors"}), after the earlier batches'."""
    failure: str | None = None
    updated_at: datetime | None = None
    """The writer's heartbeat: when this batch was written."""
    last_line: int | None = None
    """The file's line of the batch's last row (None: the batch read no row)."""


ImportState = Literal["running", "finished", "failed"]


@dataclass(frozen=True)
class ImportStatus:
    """An import as its record stands: counts so far, the first rejected rows, its state."""

    import_id: str
    source: str | None
    campaign: str | None
    received_at: datetime
    rows_accepted: int
    rows_rejected: int
    new_leads: int
    errors: list[dict[str, Any]]
    finished_at: datetime | None
    failure: str | None
    updated_at: datetime | None = None
    last_line: int | None = None

    def writer_gone(self, now: datetime, bound: timedelta) -> bool:
        """Running, but no batch written for longer than `bound`: its writer stopped."""
        heartbeat = self.updated_at or self.received_at
        return self.state == "running" and now - heartbeat > bound

    @property
    def state(self) -> ImportState:
        """`running` until its last batch commits (`finished`) or it stops (`failed`)."""
        if self.failure is not None:
            return "failed"
        return "running" if self.finished_at is None else "finished"


def stopped_while_writing(last_line: int | None) -> str:
    """Why an import whose writer stopped midway failed, and what re-importing does."""
    written = (
        f"the rows through line {last_line} were written (good rows captured, bad rows listed)"
        if last_line
        else "no row was written"
    )
    return (
        f"intake stopped while writing this import; {written}, the rest were not. Re-import "
        "the rest or the whole file: a row whose email intake knows updates that lead as a "
        "repeated form fill does (no duplicate lead; one more submission and lead.captured)"
    )


@dataclass(frozen=True)
class LeadDetails:
    """A lead and its latest submissions, as the lead query shows them."""

    lead: Lead
    submissions: list[Submission]
