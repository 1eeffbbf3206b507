"""What the HubSpot CRM API answers, read into small typed records (pure: no I/O).

Objects: https://developers.hubspot.com/docs/api/crm/understanding-the-crm (an object is
`{"id", "properties": {name: string or null}, "createdAt", "updatedAt", "archived"}`; every
property value is a string). Owners: https://developers.hubspot.com/docs/api/crm/owners.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

DEAL_PROPERTIES = (
    "dealstage",
    "amount",
    "closedate",
    "hs_is_closed_won",
    "hs_is_closed",
    "deal_currency_code",
    "pipeline",
)
# What leadloop reads of a logged call, meeting or email (besides owner and timestamp).
ENGAGEMENT_PROPERTIES = {
    "calls": ("hs_call_status", "hs_call_direction", "hs_call_disposition", "hs_call_duration"),
    "meetings": ("hs_meeting_outcome", "hs_meeting_start_time", "hs_meeting_title"),
    "emails": ("hs_email_direction", "hs_email_status", "hs_email_subject"),
}
ENGAGEMENT_TYPES = {"call": "calls", "meeting": "meetings", "email": "emails"}


@dataclass(frozen=True)
class CrmObject:
    """A CRM record: its id and the properties asked for (values as HubSpot gives them)."""

    id: str
    properties: dict[str, str | None] = field(default_factory=dict)


@dataclass(frozen=True)
class OwnerTeam:
    """A HubSpot team an owner belongs to (`primary`: the owner's main team)."""

    id: str
    name: str
    primary: bool = False


@dataclass(frozen=True)
class Owner:
    """A CRM owner: the id to assign records to, who it is, and its teams (primary first)."""

    id: str
    email: str | None
    first_name: str | None
    last_name: str | None
    archived: bool = False
    user_id: int | None = None
    teams: tuple[OwnerTeam, ...] = ()
    type: str = "PERSON"

    @property
    def active(self) -> bool:
        """Owners archived in HubSpot (users removed) are inactive."""
        return not self.archived

    @property
    def name(self) -> str:
        """First and last name, or the email when HubSpot has no name."""
        full = " ".join(p for p in (self.first_name, self.last_name) if p)
        return full or (self.email or self.id)


@dataclass(frozen=True)
class Deal:
    """A deal with the properties feedback needs and the contacts it is associated with."""

    id: str
    stage: str | None
    pipeline: str | None
    amount: Decimal | None
    currency: str | None
    close_date: datetime | None
    is_closed: bool
    is_closed_won: bool
    contact_ids: tuple[str, ...]
    properties: dict[str, str | None] = field(default_factory=dict)


@dataclass(frozen=True)
class Engagement:
    """A logged call, meeting or email: who logged it, when, and for which contacts."""

    object_type: str
    id: str
    owner_id: str | None
    occurred_at: datetime | None
    contact_ids: tuple[str, ...]
    properties: dict[str, str | None] = field(default_factory=dict)


def crm_object(body: Any) -> CrmObject:
    """An object answer of the CRM API; ValueError when it has no id."""
    if not isinstance(body, dict) or body.get("id") in (None, ""):
        raise ValueError(f"HubSpot answered an object without an id: {body!r:.200}")
    props = body.get("properties")
    clean = {str(k): None if v is None else str(v) for k, v in (props or {}).items()}
    return CrmObject(str(body["id"]), clean)


def owner(body: dict[str, Any]) -> Owner:
    """One entry of the owners API's results (`teams`: `[{"id", "name", "primary"}]` when the
    owner is in teams; `type`: PERSON or QUEUE)."""
    user_id = body.get("userId")
    teams = [
        OwnerTeam(str(t["id"]), str(t.get("name") or ""), bool(t.get("primary", False)))
        for t in body.get("teams") or []
        if isinstance(t, dict) and t.get("id") is not None
    ]
    return Owner(
        id=str(body["id"]),
        email=body.get("email"),
        first_name=body.get("firstName"),
        last_name=body.get("lastName"),
        archived=bool(body.get("archived", False)),
        user_id=user_id if isinstance(user_id, int) else None,
        teams=tuple(sorted(teams, key=lambda t: not t.primary)),
        type=str(body.get("type") or "PERSON"),
    )


def timestamp(value: str | None) -> datetime | None:
    """A HubSpot date-time property: ISO 8601 (`2026-11-30T09:00:00.000Z`) or epoch ms."""
    if not value:
        return None
    if value.isdigit():
        return datetime.fromtimestamp(int(value) / 1000, tz=UTC)
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def hs_timestamp(moment: datetime) -> str:
    """A date-time as HubSpot takes it: UTC ISO 8601 with milliseconds."""
    if moment.tzinfo is None:
        raise ValueError("a naive date-time has no place on HubSpot's timeline")
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _decimal(value: str | None) -> Decimal | None:
    try:
        return Decimal(value) if value not in (None, "") else None
    except InvalidOperation:
        return None


def deal(obj: CrmObject, contact_ids: tuple[str, ...]) -> Deal:
    """A deal object with its associated contacts."""
    p = obj.properties
    return Deal(
        id=obj.id,
        stage=p.get("dealstage"),
        pipeline=p.get("pipeline"),
        amount=_decimal(p.get("amount")),
        currency=p.get("deal_currency_code"),
        close_date=timestamp(p.get("closedate")),
        is_closed=p.get("hs_is_closed") == "true",
        is_closed_won=p.get("hs_is_closed_won") == "true",
        contact_ids=contact_ids,
        properties=p,
    )


def engagement(object_type: str, obj: CrmObject, contact_ids: tuple[str, ...]) -> Engagement:
    """A call, meeting or email object with its associated contacts."""
    return Engagement(
        object_type=object_type,
        id=obj.id,
        owner_id=obj.properties.get("hubspot_owner_id") or None,
        occurred_at=timestamp(obj.properties.get("hs_timestamp")),
        contact_ids=contact_ids,
        properties=obj.properties,
    )


def engagement_type(object_type: str) -> str:
    """`calls`, `meetings` or `emails` (the singular a webhook names is accepted)."""
    plural = ENGAGEMENT_TYPES.get(object_type, object_type)
    if plural not in ENGAGEMENT_PROPERTIES:
        raise ValueError(f"not an engagement leadloop reads: {object_type!r}")
    return plural
