"""Standard Webhooks signatures (https://www.standardwebhooks.com/): signing outbound
deliveries and verifying inbound ones."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac

SECRET_PREFIX = "whsec_"
TOLERANCE_S = 300


class SignatureError(ValueError):
    """A missing, malformed, stale or forged signature."""


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """`v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">` keyed by the decoded secret."""
    try:
        key = base64.b64decode(secret.removeprefix(SECRET_PREFIX), validate=True)
    except binascii.Error as exc:
        raise ValueError("a signing secret is whsec_ followed by base64") from exc
    message = f"{msg_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, message, hashlib.sha256).digest()).decode()


def verify(
    secret: str,
    body: bytes,
    *,
    msg_id: str | None,
    timestamp: str | None,
    signature: str | None,
    now: float,
    tolerance_s: int = TOLERANCE_S,
) -> None:
    """Raise SignatureError unless a `v1,` signature matches and the timestamp is fresh."""
    if not (msg_id and timestamp and signature):
        raise SignatureError("missing webhook-id, webhook-timestamp or webhook-signature header")
    if not timestamp.isdigit():
        raise SignatureError("webhook-timestamp is not a Unix timestamp")
    if abs(now - int(timestamp)) > tolerance_s:
        raise SignatureError(f"webhook-timestamp is more than {tolerance_s} s away from now")
    expected = sign(secret, msg_id, int(timestamp), body).encode()
    if not any(hmac.compare_digest(expected, s.encode()) for s in signature.split()):
        raise SignatureError("no signature matches the body")
