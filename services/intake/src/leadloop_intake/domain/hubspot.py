"""HubSpot's "send a webhook" workflow action: signature v3 (leadloop_connectors' one
implementation, its refusal in intake's words) and the contact mapping."""

from __future__ import annotations

import re
from typing import Any

from leadloop_connectors.hubspot import signature as signature_check
from leadloop_connectors.hubspot.signature import canonical_uri as canonical_uri
from leadloop_connectors.hubspot.signature import signature_v3 as signature_v3

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
