"""A HubSpot contact's properties mapped onto intake's form submission, keeping the data.

- Profile: `email`, `firstname`, `lastname`, `company`, `jobtitle`, `phone` as they are;
  `country` by name or code (`Norway`, `NO`, `NOR`, `UK`) to ISO alpha-2 (one it cannot place
  stays in `fields.country_name`); `industry` onto the agreement's industries
  (leadloop_intake.domain.industries; the value sent is kept in `fields.hubspot_industry`);
  `numemployees` (a number or HubSpot's bands `1-5`, `5-25`, `25-50`, `50-100`, `100-500`,
  `500-1000`, `1000+`) to company_size, the band's lower bound (the band is kept in
  `fields.employee_band`; a band it cannot read stays there and leaves company_size empty).
- Campaign, first of: `campaign` (a workflow may send one), `utm_campaign`,
  `hs_analytics_source_data_1` when `hs_analytics_source` is EMAIL_MARKETING or OTHER_CAMPAIGNS
  (for those HubSpot's drill-down 1 is the campaign; for other sources it is a search engine,
  network or referring site, kept in `fields`).
- Source, first of: `hs_analytics_source` (HubSpot's original source, a channel such as
  ORGANIC_SEARCH -> `organic`), `utm_source` (as a slug). `utm_*` also stay in `utm`.
- Identity: the contact id (`hs_object_id`, `canonical-vid`, `vid` or `objectId`, in that order)
  becomes `external_ids.hubspot`.
- Everything else goes to `fields`, as sent.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from leadloop_intake.domain.countries import country_code
from leadloop_intake.domain.industries import industry_of

PROFILE_MAP = {
    "email": "email",
    "firstname": "first_name",
    "lastname": "last_name",
    "company": "company",
    "jobtitle": "job_title",
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
    "AI_REFERRALS": "ai_referral",
}
"""HubSpot's original source (`hs_analytics_source`) -> leadloop's source."""
CAMPAIGN_SOURCES = frozenset({"EMAIL_MARKETING", "OTHER_CAMPAIGNS"})
"""The original sources whose drill-down 1 (`hs_analytics_source_data_1`) names a campaign."""
CONTACT_ID_KEYS = ("hs_object_id", "canonical-vid", "vid", "objectId")
CAMPAIGN_CHARS = 200
_BAND = re.compile(r"^\s*(\d[\d,.]*)\s*(k?)\s*(?:\+|-\s*\d[\d,.]*\s*k?|or more)?\s*$", re.I)
_BELOW = re.compile(r"^\s*(?:<|under|fewer than|less than)\s*\d", re.I)


def _value(raw: Any) -> Any:
    if isinstance(raw, dict):
        return raw.get("value")
    return raw


def contact_properties(payload: Mapping[str, Any]) -> dict[str, Any]:
    """Flatten the shapes HubSpot posts: flat, `properties: {k: v}` or `{k: {value: v}}`."""
    props = payload.get("properties")
    if isinstance(props, dict):
        flat = {k: _value(v) for k, v in props.items()}
        for key in ("email", *CONTACT_ID_KEYS):
            if key in payload and key not in flat:
                flat[key] = payload[key]
        return flat
    return {k: _value(v) for k, v in payload.items()}


def employees(value: Any) -> int | None:
    """Employees from a number or a band (`25-50` -> 25, `1000+` -> 1000, `10k+` -> 10000,
    `under 10` -> 1); None when the text is no band."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return int(value) if value >= 0 else None
    text = str(value)
    if _BELOW.match(text):
        return 1
    match = _BAND.match(text)
    if match is None:
        return None
    number = float(match.group(1).replace(",", ""))
    return int(number * 1000 if match.group(2) else number)


def slug(value: str) -> str | None:
    """A source as leadloop spells it (`LinkedIn Ads` -> `linkedin_ads`); None if nothing left."""
    cut = re.sub(r"[^a-z0-9_.\-]+", "_", value.strip().lower()).strip("_.-")
    return cut[:100] or None


def to_form_submission(
    payload: Mapping[str, Any], industries: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """Map a contact's properties onto the generic form submission's fields (module docstring);
    `industries` extends the industry map (LEADLOOP_HUBSPOT_INDUSTRY_MAP)."""
    props = {k: v for k, v in contact_properties(payload).items() if v not in (None, "")}
    form: dict[str, Any] = {PROFILE_MAP[k]: v for k, v in props.items() if k in PROFILE_MAP}
    utm = {UTM_MAP[k]: v for k, v in props.items() if k in UTM_MAP}
    used = {*PROFILE_MAP, *UTM_MAP, *CONTACT_ID_KEYS, "country", "industry", "numemployees"}
    used |= {"hs_analytics_source", "campaign"}
    extra: dict[str, Any] = {}
    _profile(props, form, extra, industries)
    contact_id = next((props[k] for k in CONTACT_ID_KEYS if k in props), None)
    if contact_id is not None:
        form["external_ids"] = {"hubspot": str(contact_id)}
    origin = str(props.get("hs_analytics_source", "")).upper()
    source = SOURCE_MAP.get(origin) or (slug(origin) if origin else None)
    source = source or (slug(str(utm["source"])) if "source" in utm else None)
    if source:
        form["source"] = source
    drill_down = props.get("hs_analytics_source_data_1") if origin in CAMPAIGN_SOURCES else None
    if drill_down is not None:
        used.add("hs_analytics_source_data_1")
    campaign = props.get("campaign") or utm.get("campaign") or drill_down
    if campaign is not None:
        form["campaign"] = str(campaign)[:CAMPAIGN_CHARS]
    if utm:
        form["utm"] = utm
    extra.update({k: v for k, v in props.items() if k not in used})
    form["fields"] = extra
    return form


def _profile(
    props: Mapping[str, Any],
    form: dict[str, Any],
    extra: dict[str, Any],
    industries: Mapping[str, str] | None,
) -> None:
    """Country, industry and size, each kept as sent in `extra` when it was changed or unread."""
    if "country" in props:
        code = country_code(str(props["country"]))
        if code is None:
            extra["country_name"] = props["country"]
        else:
            form["country"] = code
    if "industry" in props:
        sent = str(props["industry"])
        form["industry"] = industry_of(sent, industries)
        if form["industry"] != sent:
            extra["hubspot_industry"] = sent
    if "numemployees" in props:
        band = props["numemployees"]
        size = employees(band)
        if size is not None:
            form["company_size"] = size
        if size is None or not isinstance(band, int | float):
            extra["employee_band"] = band
