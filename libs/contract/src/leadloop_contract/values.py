"""The shared value types: the words every service uses, defined once."""

from __future__ import annotations

from typing import Annotated, Final, Literal, get_args
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, StringConstraints

Grade = Literal["A", "B", "C", "D"]
"""How well a lead fits, A best."""
GRADES: Final[tuple[Grade, ...]] = get_args(Grade)

Stage = Literal[
    "lead", "mql", "sql", "accepted", "opportunity", "customer", "recycled", "disqualified"
]
"""A lifecycle stage (see leadloop_contract.lifecycle for the legal moves)."""
STAGES: Final[tuple[Stage, ...]] = get_args(Stage)

ActivityType = Literal[
    "page_view",
    "pricing_page_view",
    "email_open",
    "email_click",
    "content_download",
    "webinar_registered",
    "webinar_attended",
    "demo_request",
    "free_trial_signup",
    "contact_sales_request",
    "unsubscribe",
]
"""A behaviour signal marketing automation reports."""
ACTIVITY_TYPES: Final[tuple[ActivityType, ...]] = get_args(ActivityType)

CrmStatus = Literal[
    "accepted", "working", "rejected", "unqualified", "recycled", "disqualified", "opportunity"
]
"""A lead status sales sets in the CRM."""
CRM_STATUSES: Final[tuple[CrmStatus, ...]] = get_args(CrmStatus)
REJECTIONS: Final[frozenset[CrmStatus]] = frozenset({"rejected", "unqualified", "disqualified"})
"""The statuses by which sales gives a lead back or drops it: each needs a reason code."""

DealStage = Literal["created", "won", "lost"]
"""What happened to a deal in the CRM."""

TouchChannel = Literal["email", "call", "meeting", "social"]
"""How a rep contacted a lead."""
TouchOutcome = Literal["attempted", "connected", "meeting_booked"]
"""What came of a rep's touch."""


def time_zone(name: str) -> str:
    """`name` when it is an IANA time zone (e.g. Europe/Berlin); ValueError naming it if not."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {name!r} (use e.g. Europe/Berlin)") from exc
    return name


TimeZoneName = Annotated[str, AfterValidator(time_zone)]
"""An IANA time zone name, checked where it is read, not at the first deadline."""


ExternalSystem = Literal["hubspot", "salesforce"]
"""A system outside leadloop that knows a lead by its own id (a CRM or marketing automation)."""
EXTERNAL_SYSTEMS: Final[tuple[ExternalSystem, ...]] = get_args(ExternalSystem)
MAX_EXTERNAL_ID = 64
"""An external record id: HubSpot's are numbers, Salesforce's 15 or 18 characters."""
ExternalId = Annotated[
    str, StringConstraints(min_length=1, max_length=MAX_EXTERNAL_ID, pattern=r"^[A-Za-z0-9_.:\-]+$")
]
"""One system's id of a record: letters, digits and `_.:-`, at most MAX_EXTERNAL_ID."""
ExternalIds = dict[ExternalSystem, ExternalId]
"""A lead's ids in other systems (`{"hubspot": "5101", "salesforce": "00Q5e00000AbCdE"}`):
one per system, bounded by the systems named in ExternalSystem. Optional: `{}` when none known."""
