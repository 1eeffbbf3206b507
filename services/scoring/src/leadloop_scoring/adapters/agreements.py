"""The agreement in force, read from the repository (parsed documents cached by checksum)."""

from __future__ import annotations

from leadloop_contract.agreement import Agreement, ParsedAgreements
from leadloop_scoring.adapters.repository import Repository
from leadloop_scoring.domain.agreements import NoAgreement, StoredAgreement


class CurrentAgreement:
    """Reads the latest published version; parsed documents are cached by checksum."""

    def __init__(self) -> None:
        self._parsed = ParsedAgreements()

    def parse(self, stored: StoredAgreement) -> Agreement:
        """The typed agreement of a stored version."""
        return self._parsed.parse(stored.checksum, stored.document)

    async def current(self, repo: Repository) -> tuple[str, Agreement]:
        """The version in force and its agreement; NoAgreement before the first."""
        stored = await repo.current_agreement()
        if stored is None:
            raise NoAgreement("no agreement has been published")
        return stored.version, self.parse(stored)
