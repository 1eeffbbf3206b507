"""HubSpot's industry enumeration mapped onto the agreement's industries.

HubSpot's default `industry` property (on companies; contacts carry it too once a portal adds it)
is an enumeration whose internal values are LinkedIn's industry names in upper snake case:
`COMPUTER_SOFTWARE`, `INFORMATION_TECHNOLOGY_AND_SERVICES`, `HOSPITAL_HEALTH_CARE`,
`LOGISTICS_AND_SUPPLY_CHAIN`, `FINANCIAL_SERVICES`... (HubSpot's default company properties:
https://knowledge.hubspot.com/properties/hubspots-default-company-properties). A workflow's
webhook sends the internal value; a form may send the label (`Computer Software`).

An agreement's fit rules name industries in their own words (the example agreement:
Software, Healthcare, Manufacturing, Logistics, Financial Services). DEFAULT_MAP takes HubSpot's
values onto those words; `LEADLOOP_HUBSPOT_INDUSTRY_MAP` (a JSON object, HubSpot value -> the
agreement's industry) adds to it or overrides it. A HubSpot value in neither becomes its label
(`AIRLINES_AVIATION` -> `Airlines Aviation`); any other text is kept as sent.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Final

_GROUPS: Final[dict[str, tuple[str, ...]]] = {
    "Software": (
        "COMPUTER_SOFTWARE",
        "INFORMATION_TECHNOLOGY_AND_SERVICES",
        "INTERNET",
        "COMPUTER_NETWORK_SECURITY",
        "COMPUTER_NETWORKING",
        "COMPUTER_GAMES",
        "E_LEARNING",
    ),
    "Healthcare": (
        "HOSPITAL_HEALTH_CARE",
        "MEDICAL_PRACTICE",
        "MEDICAL_DEVICES",
        "MENTAL_HEALTH_CARE",
        "HEALTH_WELLNESS_AND_FITNESS",
        "PHARMACEUTICALS",
        "BIOTECHNOLOGY",
        "VETERINARY",
        "ALTERNATIVE_MEDICINE",
    ),
    "Manufacturing": (
        "MACHINERY",
        "MECHANICAL_OR_INDUSTRIAL_ENGINEERING",
        "INDUSTRIAL_AUTOMATION",
        "ELECTRICAL_ELECTRONIC_MANUFACTURING",
        "AUTOMOTIVE",
        "CHEMICALS",
        "PLASTICS",
        "PAPER_FOREST_PRODUCTS",
        "TEXTILES",
        "SEMICONDUCTORS",
        "BUILDING_MATERIALS",
        "GLASS_CERAMICS_CONCRETE",
        "PACKAGING_AND_CONTAINERS",
        "AVIATION_AEROSPACE",
        "DEFENSE_SPACE",
        "SHIPBUILDING",
        "RAILROAD_MANUFACTURE",
        "FOOD_PRODUCTION",
    ),
    "Logistics": (
        "LOGISTICS_AND_SUPPLY_CHAIN",
        "TRANSPORTATION_TRUCKING_RAILROAD",
        "PACKAGE_FREIGHT_DELIVERY",
        "WAREHOUSING",
        "MARITIME",
        "IMPORT_AND_EXPORT",
        "WHOLESALE",
    ),
    "Financial Services": (
        "FINANCIAL_SERVICES",
        "BANKING",
        "INSURANCE",
        "INVESTMENT_BANKING",
        "INVESTMENT_MANAGEMENT",
        "CAPITAL_MARKETS",
        "VENTURE_CAPITAL_PRIVATE_EQUITY",
        "ACCOUNTING",
    ),
}
DEFAULT_MAP: Final[dict[str, str]] = {
    value: industry for industry, values in _GROUPS.items() for value in values
}
"""HubSpot industry value -> the example agreement's industry."""

_ENUMERATION = re.compile(r"^[A-Z0-9]+(?:_[A-Z0-9]+)*$")


def enumeration_key(value: str) -> str:
    """The internal value a HubSpot label stands for: `Hospital & Health Care` ->
    `HOSPITAL_HEALTH_CARE`, `computer software` -> `COMPUTER_SOFTWARE`."""
    return re.sub(r"[^A-Z0-9]+", "_", value.upper()).strip("_")


def industry_of(value: str, extra: Mapping[str, str] | None = None) -> str:
    """The agreement's industry for a HubSpot industry value or label; `extra` (from
    LEADLOOP_HUBSPOT_INDUSTRY_MAP) wins over DEFAULT_MAP."""
    key = enumeration_key(value)
    overrides = {enumeration_key(k): v for k, v in (extra or {}).items()}
    mapped = overrides.get(key) or DEFAULT_MAP.get(key)
    if mapped is not None:
        return mapped
    typed = value.strip()
    if _ENUMERATION.match(typed):
        return typed.replace("_", " ").title()
    return typed
