"""The vendor connectors routing can run, by name. A vendor module plugs in with one line in
`CONNECTORS`: its name and a factory that builds the connector from routing's settings (no
I/O: clients open inside `perform`). A connector runs when its credentials are set."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from leadloop_routing.adapters import hubspot_actions, salesforce_actions, slack_actions
from leadloop_routing.config import Settings
from leadloop_routing.domain.connectors import CONNECTOR_NAMES, Connector

ConnectorFactory = Callable[[Settings], Connector]

CONNECTORS: dict[str, ConnectorFactory] = {
    "hubspot": hubspot_actions.connector,
    "salesforce": salesforce_actions.connector,
    "slack": slack_actions.connector,
}


def build_connectors(
    settings: Settings, registry: Mapping[str, ConnectorFactory] | None = None
) -> tuple[Connector, ...]:
    """The enabled connectors (credentials set), built by their factories in `registry`."""
    registry = CONNECTORS if registry is None else registry
    built = []
    for name in settings.enabled_connectors():
        factory = registry.get(name)
        if factory is None:
            raise ValueError(
                f"{name} credentials are set but routing has no {name} connector; "
                f"unset them or use a build that has it (known: {', '.join(sorted(registry))})"
            )
        connector = factory(settings)
        if connector.name != name or name not in CONNECTOR_NAMES:
            raise ValueError(f"the {name} factory built a connector named {connector.name!r}")
        built.append(connector)
    return tuple(built)
