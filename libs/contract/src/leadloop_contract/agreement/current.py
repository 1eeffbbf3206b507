"""The pure part of reading the agreement in force, shared by every service.

Each service keeps its own table of published versions (scoring publishes them, routing and
feedback store what `leadloop.agreement.published.v1` brought); reading one back parses a JSON
document into the typed model, and that is done once per document and process.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from leadloop_contract.agreement.model import Agreement


def stored_document(agreement: Agreement) -> dict[str, Any]:
    """The agreement as the JSON document services store and the event carries."""
    return agreement.model_dump(mode="json")


class ParsedAgreements:
    """Stored agreement documents, parsed once each: keyed by checksum or by version.

    A version's document never changes once published (scoring refuses a different document
    under a published version), so either key names one document.
    """

    def __init__(self) -> None:
        self._parsed: dict[str, Agreement] = {}

    def parse(self, key: str, document: Mapping[str, Any]) -> Agreement:
        """The typed agreement of a stored document, parsed the first time its key is seen."""
        agreement = self._parsed.get(key)
        if agreement is None:
            agreement = Agreement.model_validate(dict(document))
            self._parsed[key] = agreement
        return agreement


def rejection_reasons(document: Mapping[str, Any] | None) -> list[str]:
    """The reason codes sales may give, from a stored document (the defaults before any)."""
    default: list[str] = Agreement.model_fields["rejection_reasons"].get_default(
        call_default_factory=True
    )
    return list((document or {}).get("rejection_reasons", default))
