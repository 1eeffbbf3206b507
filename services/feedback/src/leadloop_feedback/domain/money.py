"""Money in more than one currency: reports sum in one reporting currency, converting with
configured rates; an amount in a currency without a rate is never added, it is listed apart.

Rates are "units of the reporting currency per unit" (`USD=0.92` with EUR as the reporting
currency: one dollar counts as 0.92 euro), the way CRMs keep a company currency and rates.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from pydantic import BeforeValidator
from pydantic_settings import NoDecode

from leadloop_events.money import iso_currency


def parse_rates(value: Any) -> dict[str, Decimal]:
    """`USD=0.92,JPY=0.0061` (or a mapping) as {code: rate}; a ValueError names a bad entry."""
    if isinstance(value, Mapping):
        pairs = [(str(k), str(v)) for k, v in value.items()]
    elif isinstance(value, str):
        entries = [e.strip() for e in value.split(",") if e.strip()]
        pairs = []
        for entry in entries:
            code, sep, number = entry.partition("=")
            if not sep:
                raise ValueError(f"{entry!r}: write CODE=RATE, e.g. USD=0.92")
            pairs.append((code, number))
    else:
        raise ValueError("write the rates as CODE=RATE,CODE=RATE (e.g. USD=0.92,JPY=0.0061)")
    rates: dict[str, Decimal] = {}
    for code, text in pairs:
        try:
            rate = Decimal(text.strip())
        except InvalidOperation as exc:
            raise ValueError(f"{code}={text}: the rate is not a number") from exc
        if not rate.is_finite() or rate <= 0:
            raise ValueError(f"{code}={text}: the rate must be a positive number")
        rates[iso_currency(code)] = rate
    return rates


FxRates = Annotated[dict[str, Decimal], NoDecode, BeforeValidator(parse_rates)]
"""Exchange rates as an environment variable: `USD=0.92,JPY=0.0061`."""


@dataclass(frozen=True)
class Exchange:
    """The reporting currency and the rates into it."""

    currency: str = "EUR"
    rates: Mapping[str, Decimal] = field(default_factory=dict)

    def convert(self, amount: Decimal, currency: str) -> Decimal | None:
        """`amount` in the reporting currency, or None when there is no rate for `currency`."""
        if currency == self.currency:
            return amount
        rate = self.rates.get(currency)
        return None if rate is None else amount * rate

    def describe(self) -> dict[str, Any]:
        """The currency and the rates a report was computed with."""
        return {"currency": self.currency, "rates": {k: float(v) for k, v in self.rates.items()}}


NO_RATES = Exchange()


class Apart:
    """Amounts that could not be converted, per metric and currency."""

    def __init__(self) -> None:
        self.amounts: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))

    def add(self, metric: str, currency: str, amount: Decimal) -> None:
        self.amounts[metric][currency] += amount

    def as_dict(self) -> dict[str, dict[str, float]]:
        """{metric: {currency: amount}}, only the metrics that have some."""
        return {
            metric: {c: float(a.quantize(Decimal("0.01"))) for c, a in sorted(by.items())}
            for metric, by in sorted(self.amounts.items())
            if by
        }


def split_spend(
    spend: Mapping[str, tuple[Decimal, str]], exchange: Exchange
) -> tuple[dict[str, Decimal], dict[str, dict[str, Decimal]]]:
    """Campaign spend converted to the reporting currency, and the spend that has no rate."""
    converted: dict[str, Decimal] = {}
    apart: dict[str, dict[str, Decimal]] = {}
    for campaign, (amount, currency) in spend.items():
        value = exchange.convert(Decimal(amount), currency)
        if value is None:
            apart[campaign] = {currency: Decimal(amount)}
        else:
            converted[campaign] = value
    return converted, apart
