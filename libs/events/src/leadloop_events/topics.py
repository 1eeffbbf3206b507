"""Topic names: the four lead topics and their dead-letter twins."""

from __future__ import annotations

from typing import Final

INTAKE: Final = "leads.intake"
LIFECYCLE: Final = "leads.lifecycle"
HANDOFF: Final = "leads.handoff"
FEEDBACK: Final = "leads.feedback"

ALL: Final = (INTAKE, LIFECYCLE, HANDOFF, FEEDBACK)
DLQ_SUFFIX: Final = ".dlq"

# The CloudEvents `source` of the one service that publishes each topic: consumers accept an
# event only from the topic its type belongs to and from that topic's producer.
PRODUCERS: Final = {
    INTAKE: "/leadloop/intake",
    LIFECYCLE: "/leadloop/scoring",
    HANDOFF: "/leadloop/routing",
    FEEDBACK: "/leadloop/feedback",
}


def dlq(topic: str) -> str:
    """The dead-letter topic of `topic`."""
    return topic + DLQ_SUFFIX
