"""The agreement between sales and marketing is itself an event, so every service applies the
version scoring applies."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, ClassVar

from pydantic import AfterValidator, Field

from leadloop_contract.agreement import MAX_DOCUMENT_BYTES, Agreement, document_bytes
from leadloop_contract.bounds import Text
from leadloop_events import topics
from leadloop_events.envelope import EventData


def _bounded_document(value: Agreement) -> Agreement:
    size = document_bytes(value)
    if size > MAX_DOCUMENT_BYTES:
        raise ValueError(f"is {size} bytes as JSON; at most {MAX_DOCUMENT_BYTES} are accepted")
    return value


class AgreementPublished(EventData):
    """A new version of the agreement took effect."""

    event_type: ClassVar[str] = "leadloop.agreement.published.v1"
    topic: ClassVar[str] = topics.LIFECYCLE

    version: Text
    published_at: datetime
    checksum: str = Field(pattern=r"^[0-9a-f]{64}$", description="sha256 of the document")
    document: Annotated[Agreement, AfterValidator(_bounded_document)] = Field(
        description="the agreement, typed: readers get it validated"
    )
