"""Money: ISO 4217 currency codes (any three capital letters is not a currency)."""

from __future__ import annotations

from typing import Annotated

import pycountry
from pydantic import AfterValidator, WithJsonSchema


def iso_currency(value: str) -> str:
    """`value` upper-cased when it is an ISO 4217 alphabetic code, else a ValueError."""
    code = value.strip().upper()
    if len(code) != 3 or pycountry.currencies.get(alpha_3=code) is None:
        raise ValueError(f"{value!r} is not an ISO 4217 currency code (EUR, USD, JPY, ...)")
    return code


ISO_CODES = sorted(currency.alpha_3 for currency in pycountry.currencies)

CurrencyCode = Annotated[
    str,
    AfterValidator(iso_currency),
    WithJsonSchema({"type": "string", "enum": ISO_CODES, "description": "ISO 4217"}),
]
"""An ISO 4217 alphabetic currency code."""
