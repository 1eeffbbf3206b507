"""The agreement between sales and marketing is itself an event, so every service applies the
version scoring applies."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any, ClassVar

from pydantic import AfterValidator, Field

from leadloop_events import topics
from leadloop_events.bounds import Text
from leadloop_events.envelope import EventData

MAX_DOCUMENT_BYTES = 256 * 1024
"""An agreement document's size as compact JSON: a few hundred rules fit many times over, and
the event stays far under the broker's record limit."""


def _bounded_document(value: dict[str, Any]) -> dict[str, Any]:
    size = len(json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str).encode())
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
    document: Annotated[dict[str, Any], AfterValidator(_bounded_document)]
