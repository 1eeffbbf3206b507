"""HubSpot's request signature v3, the one implementation (intake's webhooks and the tests use it).

https://developers.hubspot.com/docs/apps/legacy-apps/authentication/validating-requests
("Validate the v3 request signature"): reject the request if X-HubSpot-Request-Timestamp is
older than 5 minutes; decode the percent-escapes the page lists in the URI; concatenate
`requestMethod + requestUri + requestBody + timestamp` (UTF-8); HMAC-SHA256 it with the app's
client secret; base64 the digest; compare it with X-HubSpot-Signature-v3 in constant time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re

# "Reject the request if the timestamp is older than 5 minutes."
MAX_AGE_S = 300
SIGNATURE_HEADER = "X-HubSpot-Signature-v3"
TIMESTAMP_HEADER = "X-HubSpot-Request-Timestamp"

# The escapes HubSpot decodes in the URI before signing (the table on the page above).
_DECODED = {
    "3a": ":",
    "2f": "/",
    "3f": "?",
    "40": "@",
    "21": "!",
    "24": "$",
    "27": "'",
    "28": "(",
    "29": ")",
    "2a": "*",
    "2c": ",",
    "3b": ";",
}
_ESCAPE = re.compile(r"%(" + "|".join(_DECODED) + ")", re.IGNORECASE)


class SignatureInvalid(ValueError):
    """A request whose v3 signature is missing, malformed, stale or does not match."""


def canonical_uri(uri: str) -> str:
    """The URI as HubSpot signs it: the listed percent-escapes decoded, the others kept."""
    return _ESCAPE.sub(lambda m: _DECODED[m.group(1).lower()], uri)


def signature_v3(secret: str, method: str, uri: str, body: bytes, timestamp: str) -> str:
    """base64(HMAC-SHA256(secret, method + canonical uri + body + timestamp))."""
    message = method.upper().encode() + canonical_uri(uri).encode() + body + timestamp.encode()
    digest = hmac.new(secret.encode(), message, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def verify_v3(
    *,
    secret: str,
    method: str,
    uri: str,
    body: bytes,
    timestamp: str | None,
    signature: str | None,
    now_ms: int,
    max_age_s: int = MAX_AGE_S,
) -> None:
    """Raise SignatureInvalid unless the request is signed by `secret` and fresh."""
    if not signature or not timestamp:
        raise SignatureInvalid(f"missing {SIGNATURE_HEADER} or {TIMESTAMP_HEADER} header")
    if not timestamp.isdigit():
        raise SignatureInvalid(f"{TIMESTAMP_HEADER} is not a millisecond timestamp")
    age_ms = now_ms - int(timestamp)
    if abs(age_ms) > max_age_s * 1000:
        raise SignatureInvalid(
            f"the request timestamp is {age_ms // 1000} s old; older than {max_age_s} s is refused"
        )
    expected = signature_v3(secret, method, uri, body, timestamp)
    if not hmac.compare_digest(expected.encode(), signature.strip().encode()):
        raise SignatureInvalid("the signature does not match the body")


def signed_headers(secret: str, method: str, uri: str, body: bytes, now_ms: int) -> dict[str, str]:
    """The v3 headers HubSpot would send with this request at `now_ms`."""
    timestamp = str(now_ms)
    return {
        SIGNATURE_HEADER: signature_v3(secret, method, uri, body, timestamp),
        TIMESTAMP_HEADER: timestamp,
    }
