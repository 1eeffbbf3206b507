"""Money: ISO 4217 currency codes (any three capital letters is not a currency)."""

from __future__ import annotations

from typing import Annotated

import pycountry
from pydantic import AfterValidator


def iso_currency(value: str) -> str:
    """`value` upper-cased when it is an ISO 4217 alphabetic code, else a ValueError."""
    code = value.strip().upper()
    if len(code) != 3 or pycountry.currencies.get(alpha_3=code) is None:
        raise ValueError(f"{value!r} is not an ISO 4217 currency code (EUR, USD, JPY, ...)")
    return code


CurrencyCode = Annotated[str, AfterValidator(iso_currency)]
"""An ISO 4217 alphabetic currency code."""
