"""The agreement between sales and marketing is itself an event, so every service applies the
version scoring applies."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from pydantic import Field

from leadloop_events import topics
from leadloop_events.envelope import EventData


class AgreementPublished(EventData):
    """A new version of the agreement took effect."""

    event_type: ClassVar[str] = "leadloop.agreement.published.v1"
    topic: ClassVar[str] = topics.LIFECYCLE

    version: str
    published_at: datetime
    checksum: str = Field(pattern=r"^[0-9a-f]{64}$", description="sha256 of the document")
    document: dict[str, Any]
