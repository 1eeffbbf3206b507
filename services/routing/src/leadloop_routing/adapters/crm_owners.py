"""A CRM's owners, read for the owner sync: HubSpot's owners (people, not queues, with their
teams), Salesforce's standard users (Salesforce users have no team: the default team applies)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from leadloop_connectors.hubspot import HubSpotClient
from leadloop_connectors.salesforce import SalesforceClient
from leadloop_routing.config import Settings
from leadloop_routing.domain.reps_sync import CrmOwner

OwnerReader = Callable[[Settings, str], Awaitable[list[CrmOwner]]]


class CrmNotConfigured(ValueError):
    """The sync was asked to read a CRM whose credentials are not set."""


async def read_owners(settings: Settings, system: str) -> list[CrmOwner]:
    """Every owner of `system` (hubspot or salesforce), active or not; ConnectorError subclasses
    when the CRM refuses or is away, CrmNotConfigured without its credentials."""
    if system not in settings.crms():
        names = {
            "hubspot": "LEADLOOP_HUBSPOT_ACCESS_TOKEN",
            "salesforce": "LEADLOOP_SALESFORCE_INSTANCE_URL, _CLIENT_ID and _CLIENT_SECRET",
        }
        if system not in names:
            raise CrmNotConfigured(f"unknown CRM {system!r} (hubspot or salesforce)")
        raise CrmNotConfigured(f"{system} is not configured: set {names[system]}")
    if system == "hubspot":
        return await _hubspot_owners(settings)
    return await _salesforce_users(settings)


async def _hubspot_owners(settings: Settings) -> list[CrmOwner]:
    assert settings.hubspot_access_token is not None  # crms() said so
    token = settings.hubspot_access_token.get_secret_value()
    async with HubSpotClient(settings.hubspot_api_url, token) as hubspot:
        owners = await hubspot.list_owners()
    return [
        CrmOwner(o.id, o.email, o.name, o.active, tuple(t.name for t in o.teams))
        for o in owners
        if o.type == "PERSON"  # a QUEUE owner is no person to route to
    ]


async def _salesforce_users(settings: Settings) -> list[CrmOwner]:
    assert settings.salesforce_instance_url and settings.salesforce_client_id
    assert settings.salesforce_client_secret is not None
    client = SalesforceClient(
        settings.salesforce_instance_url,
        settings.salesforce_client_id,
        settings.salesforce_client_secret.get_secret_value(),
    )
    async with client as salesforce:
        users = await salesforce.list_users()
    return [CrmOwner(u.id, u.email or None, u.name, u.active) for u in users]
