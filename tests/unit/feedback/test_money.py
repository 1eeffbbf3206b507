"""Money across currencies: never added raw, converted with configured rates, the rest apart."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from leadloop_feedback.domain import revenue
from leadloop_feedback.domain.money import Exchange, parse_rates, split_spend

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
LEADS = [
    {"lead_id": "lead-TOKYO-DENTAL", "source": "event", "campaigns": ["expo"]},
    {"lead_id": "lead-ACME-DENTAL", "source": "event", "campaigns": ["expo"]},
]


def deal(deal_id: str, lead_id: str, amount: str, currency: str, stage: str = "won") -> dict:
    return {
        "deal_id": deal_id,
        "lead_id": lead_id,
        "stage": stage,
        "amount": amount,
        "currency": currency,
        "closed_at": T0,
        "recurring": True,
    }


DEALS = [
    deal("D-JPY", "lead-TOKYO-DENTAL", "5000000", "JPY"),
    deal("D-EUR", "lead-ACME-DENTAL", "1000", "EUR"),
]


def test_yen_and_euro_are_never_summed_raw() -> None:
    [row] = revenue.revenue(LEADS, DEALS, by="source", exchange=Exchange("EUR", {}))
    assert row["won_revenue"] == 1000.0  # not 5,001,000
    assert row["unconverted"] == {"won_revenue": {"JPY": 5_000_000.0}}
    assert row["won_deals"] == 2.0 and row["average_deal_size"] == 1000.0
    total = revenue.unconverted(LEADS, DEALS, Exchange("EUR", {}))
    assert total == {"won_revenue": {"JPY": 5_000_000.0}}


def test_a_configured_rate_converts_into_the_reporting_currency() -> None:
    rates = Exchange("EUR", {"JPY": Decimal("0.0061")})
    [row] = revenue.revenue(LEADS, DEALS, by="source", exchange=rates)
    assert row["won_revenue"] == 31_500.0  # 5,000,000 × 0.0061 + 1,000
    assert row["unconverted"] == {} and row["average_deal_size"] == 15_750.0
    assert revenue.unconverted(LEADS, DEALS, rates) == {}


def test_reporting_in_another_currency_leaves_euros_apart() -> None:
    yen = Exchange("JPY", {})
    [row] = revenue.revenue(LEADS, DEALS, by="campaign", exchange=yen)
    assert row["won_revenue"] == 5_000_000.0
    assert row["unconverted"] == {"won_revenue": {"EUR": 1000.0}}


def test_lifetime_value_and_calibration_add_converted_amounts_only() -> None:
    assert revenue.lifetime_value(LEADS, DEALS, years=1) == {"event": 1000.0}
    calibration = revenue.score_calibration(LEADS, DEALS)
    [cell] = calibration["matrix"]
    assert cell["customers"] == 2 and cell["won_revenue"] == 1000.0
    assert calibration["currency"] == "EUR"
    assert calibration["unconverted"] == {"won_revenue": {"JPY": 5_000_000.0}}


def test_campaign_spend_without_a_rate_gets_no_roi() -> None:
    spend, apart = split_spend(
        {"expo": (Decimal(800_000), "JPY"), "webinar": (Decimal(100), "USD")},
        Exchange("EUR", {"USD": Decimal("0.92")}),
    )
    assert spend == {"webinar": Decimal("92.00")} and apart == {"expo": {"JPY": Decimal(800_000)}}
    rows = {
        r["group"]: r
        for r in revenue.revenue(LEADS, DEALS, by="campaign", spend=spend, spend_apart=apart)
    }
    assert "roi" not in rows["expo"] and rows["webinar"]["spend"] == 92.0
    assert rows["expo"]["unconverted"] == {
        "spend": {"JPY": 800_000.0},
        "won_revenue": {"JPY": 5_000_000.0},
    }


def test_rates_parse_from_the_environment_form() -> None:
    assert parse_rates("USD=0.92, jpy=0.0061") == {
        "USD": Decimal("0.92"),
        "JPY": Decimal("0.0061"),
    }
    assert parse_rates("") == {}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("ZZZ=1", "not an ISO 4217"),
        ("USD=-1", "positive"),
        ("USD=0", "positive"),
        ("USD=NaN", "positive"),
        ("USD=lots", "not a number"),
        ("USD", "CODE=RATE"),
    ],
)
def test_bad_rates_are_refused_with_the_entry(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_rates(text)
