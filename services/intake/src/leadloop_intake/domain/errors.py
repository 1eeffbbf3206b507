"""What can go wrong in intake's domain, in its own words (entrypoints map these to HTTP)."""

from __future__ import annotations

from typing import Any


class IntakeError(Exception):
    """Base of intake's domain errors."""


class LeadNotFound(IntakeError):
    def __init__(self, lead_id: str) -> None:
        super().__init__(f"no lead with id {lead_id}")
        self.lead_id = lead_id


class ImportNotFound(IntakeError):
    def __init__(self, import_id: str) -> None:
        super().__init__(f"no import with id {import_id}")
        self.import_id = import_id


class ImportStopped(IntakeError):
    """An import already ended as failed: its writer writes no further batch."""

    def __init__(self, import_id: str) -> None:
        super().__init__(f"import {import_id} was stopped: it failed while being written")
        self.import_id = import_id


class LeadErased(IntakeError):
    def __init__(self, lead_id: str) -> None:
        super().__init__(f"lead {lead_id} was erased")
        self.lead_id = lead_id


class UnknownLeads(IntakeError):
    """Activities named leads intake does not know; nothing of the batch was written."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__(
            f"{len(errors)} activit{'y' if len(errors) == 1 else 'ies'} name unknown leads"
        )
        self.errors = errors


class IdempotencyKeyReused(IntakeError):
    def __init__(self, key: str) -> None:
        super().__init__(f"Idempotency-Key {key!r} was already used with a different request body")


class SignatureRejected(IntakeError):
    """A signed webhook whose signature is missing, stale, forged or replayed."""


class NotConfigured(IntakeError):
    """An endpoint whose secret is not set."""
