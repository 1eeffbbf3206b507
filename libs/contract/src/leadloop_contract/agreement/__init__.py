"""The agreement between sales and marketing: the model, its loader and checksum, the diff
between two versions, and the shared reader of stored versions."""

from leadloop_contract.agreement.current import (
    ParsedAgreements,
    rejection_reasons,
    stored_document,
)
from leadloop_contract.agreement.loader import (
    EXAMPLE_FILE,
    MAX_DOCUMENT_BYTES,
    SCHEMA_FILE,
    AgreementInvalid,
    checksum,
    document_bytes,
    load_agreement,
)
from leadloop_contract.agreement.model import Agreement, FitRule, NegativeKind
from leadloop_contract.agreement.routing import Range, Routing, Sla, Team

__all__ = [
    "EXAMPLE_FILE",
    "MAX_DOCUMENT_BYTES",
    "SCHEMA_FILE",
    "Agreement",
    "AgreementInvalid",
    "FitRule",
    "NegativeKind",
    "ParsedAgreements",
    "Range",
    "Routing",
    "Sla",
    "Team",
    "checksum",
    "document_bytes",
    "load_agreement",
    "rejection_reasons",
    "stored_document",
]
