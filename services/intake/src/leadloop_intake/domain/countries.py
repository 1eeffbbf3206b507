"""Countries: ISO 3166-1 alpha-2 codes, and the names and codes people type, mapped onto them.

pycountry (the ISO 3166 database of Debian's iso-codes) knows every country's alpha-2 and
alpha-3 code, its ISO name, official name and common name, case-insensitively: `Norway`,
`norway`, `NO`, `NOR`, `United States`, `Bolivia`, `Taiwan`. ALIASES add the everyday names
ISO does not list (`UK`, `England`, `Russia`, `Turkey`); extend it when a form's dropdown
uses another.
"""

from __future__ import annotations

from typing import Final

import pycountry

ISO_3166_ALPHA2: Final = frozenset(c.alpha_2 for c in pycountry.countries)
"""Every ISO 3166-1 alpha-2 code."""

ALIASES: Final[dict[str, str]] = {
    "UK": "GB",
    "U.K.": "GB",
    "GREAT BRITAIN": "GB",
    "BRITAIN": "GB",
    "ENGLAND": "GB",
    "SCOTLAND": "GB",
    "WALES": "GB",
    "NORTHERN IRELAND": "GB",
    "USA": "US",
    "U.S.": "US",
    "U.S.A.": "US",
    "AMERICA": "US",
    "UNITED STATES OF AMERICA": "US",
    "RUSSIA": "RU",
    "TURKEY": "TR",
    "SOUTH KOREA": "KR",
    "KOREA": "KR",
    "NORTH KOREA": "KP",
    "HOLLAND": "NL",
    "THE NETHERLANDS": "NL",
    "IVORY COAST": "CI",
    "UAE": "AE",
    "MACEDONIA": "MK",
    "CZECH REPUBLIC": "CZ",
    "VATICAN": "VA",
    "DEUTSCHLAND": "DE",
    "SVERIGE": "SE",
    "NORGE": "NO",
    "DANMARK": "DK",
    "SUOMI": "FI",
    "ÖSTERREICH": "AT",
    "SCHWEIZ": "CH",
}
"""Everyday names (upper case) that are not an ISO name or code, and their alpha-2 code."""


def country_code(value: str) -> str | None:
    """The ISO alpha-2 code of a country name or code (`Norway`, `NO`, `NOR`, `UK`); None if
    it names no country."""
    typed = " ".join(value.split())
    if not typed:
        return None
    alias = ALIASES.get(typed.upper())
    if alias is not None:
        return alias
    try:
        found = pycountry.countries.lookup(typed)
    except LookupError:
        return None
    code: str = found.alpha_2
    return code
