"""The agreement in force: publishing a version, and reading it (cached by checksum)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from leadloop_contract.agreement import (
    Agreement,
    ParsedAgreements,
    checksum,
    load_agreement,
    stored_document,
)
from leadloop_events import topics
from leadloop_events.agreement import AgreementPublished
from leadloop_events.envelope import new_event
from leadloop_scoring.adapters.repository import SqlRepository, StoredAgreement
from leadloop_scoring.adapters.uow import SqlUnitOfWork

SOURCE = "/leadloop/scoring"


class NoAgreement(RuntimeError):
    """Scoring has no agreement yet (the service publishes one at start)."""


class VersionConflict(ValueError):
    """A different document was already published under this version."""


class CurrentAgreement:
    """Reads the latest published version; parsed documents are cached by checksum."""

    def __init__(self) -> None:
        self._parsed = ParsedAgreements()

    def parse(self, stored: StoredAgreement) -> Agreement:
        """The typed agreement of a stored version."""
        return self._parsed.parse(stored.checksum, stored.document)

    async def current(self, repo: SqlRepository) -> tuple[str, Agreement]:
        """The version in force and its agreement; NoAgreement before the first."""
        stored = await repo.current_agreement()
        if stored is None:
            raise NoAgreement("no agreement has been published")
        return stored.version, self.parse(stored)


async def publish_agreement(
    uow: SqlUnitOfWork, yaml_text: str, *, published_by: str | None, now: datetime | None = None
) -> tuple[StoredAgreement, bool]:
    """Validate, store and announce a version; returns (it, whether it is new).

    Raises AgreementInvalid (every error, with its path) or VersionConflict.
    """
    repo = uow.repo
    # Parsing up to a body's worth of YAML is CPU work: off the event loop, so the consumer
    # and the other requests keep going meanwhile.
    agreement = await asyncio.to_thread(load_agreement, yaml_text)
    stored = StoredAgreement(
        version=agreement.version,
        checksum=checksum(agreement),
        document=stored_document(agreement),
        source_yaml=yaml_text,
        published_at=now or datetime.now(UTC),
    )
    existing = await repo.agreement(stored.version)
    if existing is not None:
        if existing.checksum != stored.checksum:
            raise VersionConflict(
                f"version {stored.version!r} was already published with other content; "
                "give the new agreement a new version"
            )
        return existing, False
    await repo.save_agreement(stored, published_by)
    announce(uow, stored)
    return stored, True


def announce(uow: SqlUnitOfWork, stored: StoredAgreement) -> None:
    """Publish `leadloop.agreement.published.v1` for a stored version."""
    event = AgreementPublished(
        version=stored.version,
        published_at=stored.published_at,
        checksum=stored.checksum,
        document=Agreement.model_validate(stored.document),
    )
    uow.publish(
        topics.LIFECYCLE, new_event(event, source=SOURCE, subject=f"agreement:{stored.version}")
    )
