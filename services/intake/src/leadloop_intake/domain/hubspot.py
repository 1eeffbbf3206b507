"""HubSpot's "send a webhook" workflow action: signature v3 (leadloop_connectors' one
implementation, its refusal in intake's words). The contact mapping: hubspot_contact."""

from __future__ import annotations

from leadloop_connectors.hubspot import signature as signature_check
from leadloop_connectors.hubspot.signature import canonical_uri as canonical_uri
from leadloop_connectors.hubspot.signature import signature_v3 as signature_v3
from leadloop_intake.domain.errors import SignatureRejected


def verify_v3(
    *,
    secret: str,
    method: str,
    uri: str,
    body: bytes,
    timestamp: str | None,
    signature: str | None,
    now_ms: int,
    max_age_s: int,
) -> None:
    """Raise SignatureRejected unless the request is signed by `secret` and fresh."""
    try:
        signature_check.verify_v3(
            secret=secret,
            method=method,
            uri=uri,
            body=body,
            timestamp=timestamp,
            signature=signature,
            now_ms=now_ms,
            max_age_s=max_age_s,
        )
    except signature_check.SignatureInvalid as exc:
        raise SignatureRejected(str(exc)) from exc
