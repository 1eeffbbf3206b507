"""Scoring's agreement commands: a new version validated, stored and announced
(`leadloop.agreement.published.v1`), optionally every lead scheduled for re-scoring; the
configured file published at start, or the version in force announced again."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from leadloop_contract.agreement import Agreement, checksum, load_agreement, stored_document
from leadloop_events.agreement import AgreementPublished
from leadloop_scoring.adapters.uow import ScoringUnitOfWork
from leadloop_scoring.domain.agreements import StoredAgreement, VersionConflict
from leadloop_scoring.domain.lead import Cause
from leadloop_scoring.handlers import publish_event


@dataclass(frozen=True)
class PublishAgreement:
    """Publish an agreement version; `rescore` makes every live lead due under it."""

    yaml_text: str
    published_by: str | None
    rescore: bool = False
    at: datetime = field(default_factory=lambda: datetime.now(UTC))


@dataclass(frozen=True)
class Published:
    agreement: StoredAgreement
    created: bool
    leads_to_rescore: int = 0


async def publish_agreement(uow: ScoringUnitOfWork, command: PublishAgreement) -> Published:
    """Validate, store and announce a version; the same document again is no new version.

    Raises AgreementInvalid (every error, with its path) or VersionConflict.
    """
    # Parsing up to a body's worth of YAML is CPU work: off the event loop, so the consumer
    # and the other requests keep going meanwhile.
    agreement = await asyncio.to_thread(load_agreement, command.yaml_text)
    stored = StoredAgreement(
        agreement.version,
        checksum(agreement),
        stored_document(agreement),
        command.yaml_text,
        command.at,
    )
    existing = await uow.repo.agreement(stored.version)
    if existing is not None and existing.checksum != stored.checksum:
        raise VersionConflict(
            f"version {stored.version!r} was already published with other content; "
            "give the new agreement a new version"
        )
    if existing is None:
        await uow.repo.save_agreement(stored, command.published_by)
        announce(uow, stored)
    scheduled = await uow.repo.schedule_rescore_all(command.at) if command.rescore else 0
    return Published(existing or stored, existing is None, scheduled)


class AgreementFileUnusable(ValueError):
    """LEADLOOP_AGREEMENT_FILE cannot be read, or is not a valid agreement."""


def read_agreement_file(path: Path) -> tuple[str, Agreement]:
    """The file's text and agreement; AgreementFileUnusable names the file and the error."""
    try:
        text = path.read_text()
        return text, load_agreement(text)
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise AgreementFileUnusable(f"LEADLOOP_AGREEMENT_FILE {path}: {reason}") from None


async def publish_agreement_at_start(uow: ScoringUnitOfWork, agreement_file: Path) -> str:
    """Publish the configured file when no version exists yet; otherwise announce the version
    in force again, so services reading a new or emptied topic learn it (they store versions
    idempotently). Returns the version in force; AgreementFileUnusable when there is none and
    the file cannot be published."""
    current = await uow.repo.current_agreement()
    if current is None:
        text, _ = await asyncio.to_thread(read_agreement_file, agreement_file)
        command = PublishAgreement(text, published_by="startup")
        return (await publish_agreement(uow, command)).agreement.version
    announce(uow, current)
    return current.version


async def agreement_file_drift(uow: ScoringUnitOfWork, agreement_file: Path) -> str | None:
    """What to warn about at start: the file is unusable, or differs from the version in force."""
    current = await uow.repo.current_agreement()
    if current is None:
        return None
    try:
        _, agreement = await asyncio.to_thread(read_agreement_file, agreement_file)
    except AgreementFileUnusable as exc:
        return f"{exc}; the published agreement {current.version} stays in force"
    if checksum(agreement) == current.checksum:
        return None
    return (
        f"the agreement in force (version {current.version}) differs from "
        f"LEADLOOP_AGREEMENT_FILE {agreement_file} (version {agreement.version}); "
        "the published one stays in force until the file is published through the API"
    )


def announce(uow: ScoringUnitOfWork, stored: StoredAgreement) -> None:
    """Publish `leadloop.agreement.published.v1` for a stored version."""
    published = AgreementPublished(
        version=stored.version,
        published_at=stored.published_at,
        checksum=stored.checksum,
        document=Agreement.model_validate(stored.document),
    )
    publish_event(uow, published, f"agreement:{stored.version}", Cause("startup"))
