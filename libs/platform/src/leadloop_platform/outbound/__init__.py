"""The one guard for every outbound HTTP call (webhooks now, the connectors next).

A target must be http(s), carry no credentials, and name a public address: loopback, private
(RFC 1918, ULA), link-local, CGNAT, multicast, reserved, unspecified and cloud-metadata targets
are refused unless the allow list (``LEADLOOP_WEBHOOK_ALLOWED_HOSTS``: names, addresses, CIDRs)
names them. URLs are checked when stored and again when connecting: the connection goes to the
very address that was resolved and checked, so DNS rebinding cannot switch it (TLS SNI and the
Host header keep the name). Each call has a total deadline and reads at most a capped body.
"""

from leadloop_platform.outbound.client import OutboundPolicy, Reply, excerpt
from leadloop_platform.outbound.targets import (
    CONNECTION_FAILED,
    AllowList,
    OutboundError,
    RefusedTarget,
    forbidden_reason,
    parse_host,
    system_resolver,
)

__all__ = [
    "CONNECTION_FAILED",
    "AllowList",
    "OutboundError",
    "OutboundPolicy",
    "RefusedTarget",
    "Reply",
    "excerpt",
    "forbidden_reason",
    "parse_host",
    "system_resolver",
]
