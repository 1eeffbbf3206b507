"""Who a CRM means. A lead is named by leadloop's id, its email, or its id in a CRM; a rep by
leadloop's id, email, or CRM owner id. Pure: `Ref` says how an item names someone, and
`identities` what an event tells feedback to remember.

Feedback keeps no personal data: an email is remembered and looked up only as the SHA-256 of
its normalised form (`email_key`), never as the address. The hash is still pseudonymous (it
matches a known address), so a lead's hashes go when the lead is erased.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Literal, get_args

from pydantic import BaseModel, ConfigDict, StringConstraints

from leadloop_connectors.salesforce.ids import is_salesforce_id
from leadloop_contract.bounds import MAX_EMAIL
from leadloop_contract.values import ExternalId, ExternalSystem

IdentityKind = Literal["email", "hubspot", "salesforce"]
"""How feedback remembers a lead or rep: an email's hash, or its id in a CRM."""
IDENTITY_KINDS: tuple[IdentityKind, ...] = get_args(IdentityKind)
RefKind = Literal["leadloop", "email", "hubspot", "salesforce"]
GMAIL_DOMAINS = frozenset({"gmail.com", "googlemail.com"})
EMAIL_SHAPE = r"^[^@\s]+@[^@\s]+$"
EmailAddress = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=MAX_EMAIL, pattern=EMAIL_SHAPE)
]
"""An address to look someone up by (never kept: only its hash is compared)."""


class ExternalRef(BaseModel):
    """A record in a CRM: `{"system": "hubspot", "id": "5101"}`."""

    model_config = ConfigDict(
        extra="forbid",
        str_strip_whitespace=True,
        json_schema_extra={"examples": [{"system": "hubspot", "id": "5101"}]},
    )
    system: ExternalSystem
    id: ExternalId


def normalize_email(address: str) -> str:
    """The person's key, as intake merges leads by it: lower case; Gmail dots and +tags removed
    (the rule of leadloop_intake.domain.model.normalize_email, which feedback cannot import)."""
    local, _, domain = address.strip().lower().rpartition("@")
    if domain in GMAIL_DOMAINS:
        local = local.split("+", 1)[0].replace(".", "")
        domain = "gmail.com"
    return f"{local}@{domain}"


def email_key(address: str) -> str:
    """The SHA-256 (hex) of the normalised address: all feedback ever keeps of an email."""
    return hashlib.sha256(normalize_email(address).encode()).hexdigest()


def external_key(system: str, record_id: str) -> str:
    """A CRM id as compared: a Salesforce id by its 15 case-sensitive characters, since the
    18-character form names the same record; any other id as given."""
    if system == "salesforce" and is_salesforce_id(record_id):
        return record_id[:15]
    return record_id


@dataclass(frozen=True)
class Ref:
    """How an item names a lead or rep: `kind` leadloop (its own id, as given) or an identity
    (`value` already hashed or normalised); `at` is the item's field, for the error."""

    kind: RefKind
    value: str
    at: str

    @classmethod
    def leadloop(cls, value: str, at: str) -> Ref:
        """leadloop's own id."""
        return cls("leadloop", value, at)

    @classmethod
    def email(cls, address: str, at: str) -> Ref:
        """An email, hashed at once."""
        return cls("email", email_key(address), at)

    @classmethod
    def external(cls, ref: ExternalRef, at: str) -> Ref:
        """A CRM's id of the record."""
        return cls(ref.system, external_key(ref.system, ref.id), at)


CrmIds = Mapping[ExternalSystem, str] | Mapping[str, str]
"""Ids by system, as lead events (known systems) and rep events (any system) carry them."""


def identities(email: str | None, external_ids: CrmIds) -> list[tuple[IdentityKind, str]]:
    """What an event tells feedback to remember of a lead or rep: its email's hash and its ids
    in the CRMs feedback knows (other systems are ignored)."""
    found: list[tuple[IdentityKind, str]] = [("email", email_key(email))] if email else []
    pairs: list[tuple[str, str]] = sorted(external_ids.items())
    for system, record_id in pairs:
        if system in ("hubspot", "salesforce") and record_id:
            kind: IdentityKind = "hubspot" if system == "hubspot" else "salesforce"
            found.append((kind, external_key(system, record_id)))
    return found
