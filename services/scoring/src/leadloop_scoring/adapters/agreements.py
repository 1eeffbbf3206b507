"""The agreement in force: its version read per transaction, its document parsed once."""

from __future__ import annotations

from leadloop_contract.agreement import Agreement
from leadloop_scoring.adapters.repository import Repository
from leadloop_scoring.domain.agreements import NoAgreement


class CurrentAgreement:
    """The latest published version, asked for on every call (another replica may have just
    published one); the parsed agreement of each version is kept in the process."""

    def __init__(self) -> None:
        # A version's document never changes once published (scoring refuses another document
        # under it). The checksum is in the key too, so a database replaced under a running
        # process (as tests do) cannot be answered with another database's agreement.
        self._parsed: dict[tuple[str, str], Agreement] = {}

    async def current(self, repo: Repository) -> tuple[str, Agreement]:
        """The version in force and its agreement; NoAgreement before the first."""
        in_force = await repo.current_version()
        if in_force is None:
            raise NoAgreement("no agreement has been published")
        agreement = self._parsed.get(in_force)
        if agreement is None:
            # The first event under this version: read its document and parse it, once.
            stored = await repo.agreement(in_force[0])
            if stored is None:
                raise NoAgreement(f"agreement {in_force[0]} is no longer stored")
            agreement = self._parsed[in_force] = Agreement.model_validate(stored.document)
        return in_force[0], agreement
