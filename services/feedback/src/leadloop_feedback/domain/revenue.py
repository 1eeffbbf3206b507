"""Revenue arithmetic: attribution, won revenue, pipeline, cost and ROI, lifetime value, all
in the reporting currency; an amount in a currency without a rate is listed apart, never added.

Rows are plain dicts as the read model stores them; every function is deterministic.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from leadloop_feedback.domain.money import NO_RATES, Apart, Exchange
from leadloop_feedback.domain.reports import group_key, rate

Row = Mapping[str, Any]


def attribution(campaigns: Sequence[str], model: str) -> dict[str, Decimal]:
    """How one lead's revenue splits over the campaigns it touched."""
    touched = [c for c in campaigns if c]
    if not touched:
        return {"none": Decimal(1)}
    if model == "first_touch":
        return {touched[0]: Decimal(1)}
    if model == "last_touch":
        return {touched[-1]: Decimal(1)}
    share = Decimal(1) / len(touched)
    out: dict[str, Decimal] = defaultdict(Decimal)
    for c in touched:
        out[c] += share
    return dict(out)


def latest_deals(deals: Sequence[Row]) -> dict[str, Row]:
    """Each deal's latest state; at the same moment a close (won, lost) outranks `created`."""
    out: dict[str, Row] = {}
    for d in sorted(deals, key=lambda r: (r["closed_at"], r["stage"] != "created")):
        out[d["deal_id"]] = d
    return out


def metric_of(deal: Row) -> str | None:
    """Which sum a deal's amount belongs to: won revenue, open pipeline, or none (lost)."""
    return {"won": "won_revenue", "created": "pipeline"}.get(deal["stage"])


Sums = dict[str, Decimal]


def revenue(
    leads: Sequence[Row],
    deals: Sequence[Row],
    *,
    by: str = "campaign",
    model: str = "linear",
    spend: Mapping[str, Decimal] | None = None,
    stage_counts: Mapping[str, Mapping[str, int]] | None = None,
    exchange: Exchange = NO_RATES,
    spend_apart: Mapping[str, Mapping[str, Decimal]] | None = None,
) -> list[dict[str, Any]]:
    """Won revenue, pipeline, win rate and average deal size per source or campaign.

    By campaign, won revenue and pipeline are attributed over the campaigns each lead touched
    (`first_touch`, `last_touch` or `linear`); by source, each lead counts for its first source.
    With `spend` (per campaign, in the reporting currency) and `stage_counts` (leads, mqls,
    customers per campaign), cost per lead, MQL and customer, and ROI. Amounts are in the
    reporting currency; those without a rate go to each row's `unconverted`, with
    `spend_apart` (campaign spend without a rate).
    """
    groups, apart = _group_sums(leads, deals, by, model, exchange)
    keys = sorted(set(groups) | set(spend or {}) | set(spend_apart or {}))
    out = []
    for key in keys:
        g = groups[key]
        row = _group_row(key, g)
        if spend is not None and key in spend:
            row.update(_costs(g, spend[key], (stage_counts or {}).get(key, {})))
        for currency, amount in (spend_apart or {}).get(key, {}).items():
            apart[key].add("spend", currency, amount)
        row["unconverted"] = apart[key].as_dict() if key in apart else {}
        out.append(row)
    return out


def _group_sums(
    leads: Sequence[Row], deals: Sequence[Row], by: str, model: str, exchange: Exchange
) -> tuple[dict[str, Sums], dict[str, Apart]]:
    """Each group's deal counts and converted sums, and its amounts without a rate."""
    by_lead = {lead["lead_id"]: lead for lead in leads}
    groups: dict[str, Sums] = defaultdict(lambda: defaultdict(Decimal))
    apart: dict[str, Apart] = defaultdict(Apart)
    for deal in latest_deals(deals).values():
        lead = by_lead.get(deal["lead_id"])
        if lead is None:
            continue
        amount = Decimal(deal["amount"])
        converted = exchange.convert(amount, deal["currency"])
        for key, share in _split(lead, by, model).items():
            _add_share(groups[key], apart, key, deal, share, amount, converted)
    return groups, apart


def _split(lead: Row, by: str, model: str) -> dict[str, Decimal]:
    """A lead's share per group: attributed over its campaigns, or all to its one group."""
    if by == "campaign":
        return attribution(list(lead.get("campaigns") or [lead.get("campaign")]), model)
    return {group_key(lead, by): Decimal(1)}


def _add_share(
    g: Sums,
    apart: dict[str, Apart],
    key: str,
    deal: Row,
    share: Decimal,
    amount: Decimal,
    converted: Decimal | None,
) -> None:
    """Count a group's share of one deal; an amount without a rate goes apart."""
    if deal["stage"] == "won":
        g["won_deals"] += share
    elif deal["stage"] == "lost":
        g["lost_deals"] += share
    metric = metric_of(deal)
    if metric is None:
        return
    if converted is None:
        apart[key].add(metric, deal["currency"], amount * share)
        return
    g[metric] += converted * share
    if metric == "won_revenue":
        g["converted_won_deals"] += share


def _group_row(key: str, g: Sums) -> dict[str, Any]:
    """A group's won revenue, pipeline, won deals, win rate and average deal size."""
    closed = g["won_deals"] + g["lost_deals"]
    counted = g["converted_won_deals"]
    return {
        "group": key,
        "won_revenue": money(g["won_revenue"]),
        "pipeline": money(g["pipeline"]),
        "won_deals": float(round(g["won_deals"], 4)),
        "win_rate": float(round(g["won_deals"] / closed, 4)) if closed else None,
        "average_deal_size": money(g["won_revenue"] / counted) if counted else None,
    }


def _costs(g: Sums, cost: Decimal, counts: Mapping[str, int]) -> dict[str, Any]:
    """A group's spend, cost per lead, MQL and customer, and ROI."""
    row: dict[str, Any] = {"spend": money(cost)}
    for stage in ("lead", "mql", "customer"):
        n = counts.get(stage, 0)
        row[f"cost_per_{stage}"] = money(cost / n) if n else None
    row["roi"] = float(round((g["won_revenue"] - cost) / cost, 4)) if cost else None
    return row


def unconverted(
    leads: Sequence[Row],
    deals: Sequence[Row],
    exchange: Exchange,
    spend_apart: Mapping[str, Mapping[str, Decimal]] | None = None,
) -> dict[str, dict[str, float]]:
    """The report's total left apart: {metric: {currency: amount}} of the leads' deals (and
    of campaign spend) in a currency without a rate."""
    ids = {lead["lead_id"] for lead in leads}
    apart = Apart()
    for deal in latest_deals(deals).values():
        metric = metric_of(deal)
        amount = Decimal(deal["amount"])
        if deal["lead_id"] in ids and metric and exchange.convert(amount, deal["currency"]) is None:
            apart.add(metric, deal["currency"], amount)
    for by_currency in (spend_apart or {}).values():
        for currency, amount in by_currency.items():
            apart.add("spend", currency, amount)
    return apart.as_dict()


def money(value: Decimal) -> float:
    return float(value.quantize(Decimal("0.01")))


def lifetime_value(
    leads: Sequence[Row],
    deals: Sequence[Row],
    *,
    years: int = 3,
    by: str = "source",
    exchange: Exchange = NO_RATES,
) -> dict[str, float]:
    """Recurring won deals, whose amount is the annual contract value: the average annual
    value × an expected customer lifetime in years, per group (deals without a rate left out)."""
    by_lead = {lead["lead_id"]: lead for lead in leads}
    sums: dict[str, list[Decimal]] = defaultdict(list)
    for deal in latest_deals(deals).values():
        if deal["stage"] == "won" and deal.get("recurring") and deal["lead_id"] in by_lead:
            value = exchange.convert(Decimal(deal["amount"]), deal["currency"])
            if value is not None:
                sums[group_key(by_lead[deal["lead_id"]], by)].append(value)
    return {k: money(sum(v, Decimal()) / len(v) * years) for k, v in sorted(sums.items())}


def score_calibration(
    leads: Sequence[Row],
    deals: Sequence[Row],
    *,
    thresholds: Sequence[float] = (),
    exchange: Exchange = NO_RATES,
) -> dict[str, Any]:
    """Win rate and revenue by fit grade and interest band, and by total-score threshold:
    does the agreement's definition of a qualified lead predict revenue? Revenue in the
    reporting currency; won deals without a rate count as customers, their amount apart."""
    outcomes = _Outcomes.of(latest_deals(deals), exchange)
    cells: dict[tuple[str, str], list[Row]] = defaultdict(list)
    for lead in leads:
        cells[(lead.get("grade") or "?", lead.get("interest_band") or "?")].append(lead)
    matrix = [
        {"grade": g, "interest_band": b, **outcomes.summary(m)}
        for (g, b), m in sorted(cells.items())
    ]
    cuts = [_cut(leads, cut, outcomes) for cut in sorted(thresholds)]
    best = max(
        (c for c in cuts if c["above"]["leads"]),
        key=lambda c: (c["above"]["lead_to_customer"] or 0) - (c["below"]["lead_to_customer"] or 0),
        default=None,
    )
    return {
        "matrix": matrix,
        "thresholds": cuts,
        "best_separating_threshold": best["threshold"] if best else None,
        "currency": exchange.currency,
        "unconverted": unconverted(leads, deals, exchange),
    }


@dataclass
class _Outcomes:
    """Per lead: its closed deals, its converted won revenue, and whether it became a customer."""

    won_by_lead: dict[str, Decimal] = field(default_factory=lambda: defaultdict(Decimal))
    closed_by_lead: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    won_leads: set[str] = field(default_factory=set)

    @classmethod
    def of(cls, latest: Mapping[str, Row], exchange: Exchange) -> _Outcomes:
        """The outcomes of each deal's latest state."""
        outcomes = cls()
        for deal in latest.values():
            if deal["stage"] in ("won", "lost"):
                outcomes.closed_by_lead[deal["lead_id"]] += 1
            if deal["stage"] == "won":
                value = exchange.convert(Decimal(deal["amount"]), deal["currency"])
                # a won deal makes a customer even when its amount cannot be converted
                outcomes.won_by_lead[deal["lead_id"]] += Decimal(0) if value is None else value
                outcomes.won_leads.add(deal["lead_id"])
        return outcomes

    def summary(self, members: Sequence[Row]) -> dict[str, Any]:
        """Leads, customers, win rate, conversion and revenue of a set of leads."""
        ids = [m["lead_id"] for m in members]
        customers = sum(1 for i in ids if i in self.won_leads)
        closed = sum(1 for i in ids if self.closed_by_lead.get(i))
        revenue = sum((self.won_by_lead.get(i, Decimal()) for i in ids), Decimal())
        return {
            "leads": len(ids),
            "customers": customers,
            "win_rate": rate(customers, closed),
            "lead_to_customer": rate(customers, len(ids)),
            "won_revenue": money(revenue),
            "revenue_per_lead": money(revenue / len(ids)) if ids else None,
        }


def _cut(leads: Sequence[Row], cut: float, outcomes: _Outcomes) -> dict[str, Any]:
    """The leads at or above a total-score threshold against those below it."""
    above = [lead for lead in leads if _total(lead) >= cut]
    below = [lead for lead in leads if _total(lead) < cut]
    return {"threshold": cut, "above": outcomes.summary(above), "below": outcomes.summary(below)}


def _total(lead: Row) -> Any:
    return (lead.get("fit") or 0) + (lead.get("interest") or 0)
