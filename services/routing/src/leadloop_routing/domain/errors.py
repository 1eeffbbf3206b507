"""What a routing command can refuse; the HTTP edge turns each into its problem answer."""

from __future__ import annotations


class RoutingError(Exception):
    """A command names something routing does not have (or cannot use)."""


class RepNotFound(RoutingError):
    """No rep with this id."""


class CrmIdTaken(RoutingError):
    """Another rep is already linked to this CRM owner (one rep per owner)."""


class UnknownOwner(RoutingError):
    """An account names an owner who is not a rep."""


class SubscriptionNotFound(RoutingError):
    """No subscription with this id."""


class DeliveryNotFound(RoutingError):
    """No delivery with this id that can still be sent."""


class NoAgreement(LookupError):
    """Routing has not received an agreement yet (the workers retry)."""
