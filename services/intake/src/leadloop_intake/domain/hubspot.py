"""HubSpot's "send a webhook" workflow action: signature v3 and the contact mapping."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from typing import Any
from urllib.parse import unquote

from leadloop_intake.domain.errors import SignatureRejected

FIELD_MAP = {
    "email": "email",
    "firstname": "first_name",
    "lastname": "last_name",
    "company": "company",
    "jobtitle": "job_title",
    "numemployees": "company_size",
    "industry": "industry",
    "country": "country",
    "phone": "phone",
}
UTM_MAP = {
    "utm_source": "source",
    "utm_medium": "medium",
    "utm_campaign": "campaign",
    "utm_term": "term",
    "utm_content": "content",
}
SOURCE_MAP = {
    "ORGANIC_SEARCH": "organic",
    "PAID_SEARCH": "paid_search",
    "EMAIL_MARKETING": "email",
    "SOCIAL_MEDIA": "social",
    "PAID_SOCIAL": "paid_social",
    "REFERRALS": "referral",
    "DIRECT_TRAFFIC": "direct",
    "OFFLINE": "event",
    "OTHER_CAMPAIGNS": "other",
}
# HubSpot decodes these in the URI before signing (its v3 documentation lists them).
_DECODED = ("%3A", "%2F", "%3F", "%40", "%21", "%24", "%27", "%28", "%29", "%2A", "%2C", "%3B")


def canonical_uri(uri: str) -> str:
    """The URI as HubSpot signs it: the listed percent-escapes decoded."""
    out = uri
    for escape in _DECODED:
        out = re.sub(escape, unquote(escape), out, flags=re.IGNORECASE)
    return out


def signature_v3(secret: str, method: str, uri: str, body: bytes, timestamp: str) -> str:
    """base64(HMAC-SHA256(secret, method + uri + body + timestamp))."""
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
    max_age_s: int,
) -> None:
    """Raise SignatureRejected unless the request is signed by `secret` and fresh."""
    if not signature or not timestamp:
        raise SignatureRejected(
            "missing X-HubSpot-Signature-v3 or X-HubSpot-Request-Timestamp header"
        )
    if not timestamp.isdigit():
        raise SignatureRejected("X-HubSpot-Request-Timestamp is not a millisecond timestamp")
    age_ms = now_ms - int(timestamp)
    if abs(age_ms) > max_age_s * 1000:
        raise SignatureRejected(
            f"the request timestamp is {age_ms // 1000} s old; older than {max_age_s} s is refused"
        )
    expected = signature_v3(secret, method, uri, body, timestamp)
    if not hmac.compare_digest(expected.encode(), signature.strip().encode()):
        raise SignatureRejected("the signature does not match the body")


def _value(raw: Any) -> Any:
    if isinstance(raw, dict):
        return raw.get("value")
    return raw


def contact_properties(payload: dict[str, Any]) -> dict[str, Any]:
    """Flatten the shapes HubSpot posts: flat, `properties: {k: v}` or `{k: {value: v}}`."""
    props = payload.get("properties")
    if isinstance(props, dict):
        flat = {k: _value(v) for k, v in props.items()}
        for key in ("email", "vid", "hs_object_id"):
            if key in payload and key not in flat:
                flat[key] = payload[key]
        return flat
    return {k: _value(v) for k, v in payload.items()}


def _employees(value: Any) -> Any:
    """HubSpot sends sizes as numbers or bands such as "25-50" or "1000+"; keep the lower bound."""
    if isinstance(value, int | float) or value is None:
        return value
    match = re.match(r"\s*(\d[\d,]*)", str(value))
    return int(match.group(1).replace(",", "")) if match else value


def to_form_submission(payload: dict[str, Any]) -> dict[str, Any]:
    """Map a contact's properties onto the generic form submission's fields."""
    props = contact_properties(payload)
    form: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    utm: dict[str, Any] = {}
    for key, value in props.items():
        if value in (None, ""):
            continue
        if key in FIELD_MAP:
            form[FIELD_MAP[key]] = value
        elif key in UTM_MAP:
            utm[UTM_MAP[key]] = value
        elif key == "hs_analytics_source":
            form["source"] = SOURCE_MAP.get(str(value).upper(), str(value).lower())
        elif key in ("hs_analytics_source_data_1", "campaign"):
            form.setdefault("campaign", value)
        else:
            extra[key] = value
    if "company_size" in form:
        form["company_size"] = _employees(form["company_size"])
    country = form.get("country")
    if isinstance(country, str) and len(country.strip()) != 2:
        extra["country_name"] = form.pop("country")
    if utm:
        form["utm"] = utm
    form["fields"] = extra
    return form
