"""Report arithmetic over read-model rows: pure functions with known answers.

Rows are plain dicts as the read model stores them; every function is deterministic.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from itertools import pairwise
from statistics import median
from typing import Any

FUNNEL: tuple[str, ...] = ("lead", "mql", "sql", "accepted", "opportunity", "customer")
Row = Mapping[str, Any]


def percentile(values: Sequence[float], q: float) -> float | None:
    """Linear-interpolated percentile (q in 0..1); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * q
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def rate(part: float, whole: float) -> float | None:
    return None if whole == 0 else round(part / whole, 4)


def group_key(lead: Row, by: str) -> str:
    if by == "cohort":
        seen = lead.get("first_seen_at")
        return seen.strftime("%Y-%m") if isinstance(seen, datetime) else "unknown"
    if by == "all":
        return "all"
    return str(lead.get(by) or "unknown")


def reached(stage_events: Iterable[Row]) -> dict[str, dict[str, datetime]]:
    """lead_id -> stage -> when the lead first entered it."""
    out: dict[str, dict[str, datetime]] = defaultdict(dict)
    for e in stage_events:
        entered = out[e["lead_id"]]
        stage, at = e["to_stage"], e["at"]
        if stage not in entered or at < entered[stage]:
            entered[stage] = at
    return out


def funnel(
    leads: Sequence[Row], stage_events: Sequence[Row], by: str = "all"
) -> list[dict[str, Any]]:
    """Per group: leads reaching each stage, conversion between stages, median days in stage.

    A lead that skipped a stage (lead → sql) counts as having passed through it, so conversion
    rates never exceed 100%.
    """
    entered = reached(stage_events)
    groups: dict[str, list[Row]] = defaultdict(list)
    for lead in leads:
        groups[group_key(lead, by)].append(lead)
    result = []
    for key in sorted(groups):
        counts = dict.fromkeys(FUNNEL, 0)
        durations: dict[str, list[float]] = defaultdict(list)
        for lead in groups[key]:
            times = dict(entered.get(lead["lead_id"], {}))
            if lead.get("first_seen_at") is not None:
                times.setdefault("lead", lead["first_seen_at"])
            deepest = max((FUNNEL.index(s) for s in times if s in FUNNEL), default=0)
            for i, stage in enumerate(FUNNEL[: deepest + 1]):
                counts[stage] += 1
                nxt = FUNNEL[i + 1] if i + 1 < len(FUNNEL) else None
                if stage in times and nxt in times:
                    durations[stage].append((times[nxt] - times[stage]).total_seconds() / 86400)
        conversion = {f"{a}_to_{b}": rate(counts[b], counts[a]) for a, b in pairwise(FUNNEL)}
        result.append(
            {
                "group": key,
                "counts": counts,
                "conversion": conversion,
                "median_days_in_stage": {s: round(median(d), 3) for s, d in durations.items() if d},
            }
        )
    return result


def lead_quality(
    leads: Sequence[Row], statuses: Sequence[Row], by: str = "source"
) -> list[dict[str, Any]]:
    """Per group: how many handed-off leads sales accepted or rejected, and why."""
    group_of = {lead["lead_id"]: group_key(lead, by) for lead in leads}
    verdicts: dict[str, dict[str, str]] = defaultdict(dict)  # group -> lead -> last verdict
    reasons: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for s in sorted(statuses, key=lambda r: r["changed_at"]):
        if s["lead_id"] not in group_of:
            continue
        key = group_of[s["lead_id"]]
        if s["status"] in ("accepted", "working", "opportunity"):
            verdicts[key].setdefault(s["lead_id"], "accepted")
        elif s["status"] in ("rejected", "unqualified", "disqualified"):
            verdicts[key][s["lead_id"]] = "rejected"
            reasons[key][s.get("reason_code") or "unspecified"] += 1
    out = []
    for key in sorted(verdicts):
        values = list(verdicts[key].values())
        decided = len(values)
        out.append(
            {
                "group": key,
                "decided": decided,
                "accepted": values.count("accepted"),
                "rejected": values.count("rejected"),
                "acceptance_rate": rate(values.count("accepted"), decided),
                "rejection_rate": rate(values.count("rejected"), decided),
                "rejection_reasons": dict(sorted(reasons[key].items())),
            }
        )
    return out


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


def revenue(
    leads: Sequence[Row],
    deals: Sequence[Row],
    *,
    by: str = "campaign",
    model: str = "linear",
    spend: Mapping[str, Decimal] | None = None,
    stage_counts: Mapping[str, Mapping[str, int]] | None = None,
) -> list[dict[str, Any]]:
    """Won revenue, pipeline, win rate and average deal size per source or campaign.

    By campaign, won revenue and pipeline are attributed over the campaigns each lead touched
    (`first_touch`, `last_touch` or `linear`); by source, each lead counts for its first source.
    With `spend` (per campaign) and `stage_counts` (leads, mqls, customers per campaign), cost per
    lead, MQL and customer, and ROI.
    """
    by_lead = {lead["lead_id"]: lead for lead in leads}
    groups: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for deal in latest_deals(deals).values():
        lead = by_lead.get(deal["lead_id"])
        if lead is None:
            continue
        if by == "campaign":
            split = attribution(list(lead.get("campaigns") or [lead.get("campaign")]), model)
        else:
            split = {group_key(lead, by): Decimal(1)}
        amount = Decimal(deal["amount"])
        for key, share in split.items():
            g = groups[key]
            if deal["stage"] == "won":
                g["won"] += amount * share
                g["won_deals"] += share
            elif deal["stage"] == "lost":
                g["lost_deals"] += share
            else:
                g["pipeline"] += amount * share
    keys = sorted(set(groups) | set(spend or {}))
    out = []
    for key in keys:
        g = groups[key]
        closed = g["won_deals"] + g["lost_deals"]
        row: dict[str, Any] = {
            "group": key,
            "won_revenue": _money(g["won"]),
            "pipeline": _money(g["pipeline"]),
            "won_deals": float(round(g["won_deals"], 4)),
            "win_rate": float(round(g["won_deals"] / closed, 4)) if closed else None,
            "average_deal_size": _money(g["won"] / g["won_deals"]) if g["won_deals"] else None,
        }
        if spend is not None and key in spend:
            cost = spend[key]
            counts = (stage_counts or {}).get(key, {})
            row["spend"] = _money(cost)
            for stage in ("lead", "mql", "customer"):
                n = counts.get(stage, 0)
                row[f"cost_per_{stage}"] = _money(cost / n) if n else None
            row["roi"] = float(round((g["won"] - cost) / cost, 4)) if cost else None
        out.append(row)
    return out


def _money(value: Decimal) -> float:
    return float(value.quantize(Decimal("0.01")))


def lifetime_value(
    leads: Sequence[Row], deals: Sequence[Row], *, years: int = 3, by: str = "source"
) -> dict[str, float]:
    """Recurring won deals, whose amount is the annual contract value: the average annual
    value × an expected customer lifetime in years, per group."""
    by_lead = {lead["lead_id"]: lead for lead in leads}
    sums: dict[str, list[Decimal]] = defaultdict(list)
    for deal in latest_deals(deals).values():
        if deal["stage"] == "won" and deal.get("recurring") and deal["lead_id"] in by_lead:
            sums[group_key(by_lead[deal["lead_id"]], by)].append(Decimal(deal["amount"]))
    return {k: _money(sum(v, Decimal()) / len(v) * years) for k, v in sorted(sums.items())}


def plan(
    revenue_goal: Decimal,
    *,
    average_deal_size: Decimal,
    rates: Mapping[str, float | None],
    months: int,
    run_rate_leads_per_month: float,
) -> dict[str, Any]:
    """Work back from a revenue goal: customers, opportunities, SQLs, MQLs and leads needed."""
    if average_deal_size <= 0:
        raise ValueError("no won deals yet: the average deal size is unknown")
    needed: dict[str, float] = {"customer": float(revenue_goal / average_deal_size)}
    chain = (
        ("opportunity", "opportunity_to_customer"),
        ("sql", "sql_to_opportunity"),
        ("mql", "mql_to_sql"),
        ("lead", "lead_to_mql"),
    )
    previous = "customer"
    for stage, key in chain:
        r = rates.get(key)
        if not r:
            raise ValueError(f"no observed {key.replace('_', ' ')} rate yet")
        needed[stage] = needed[previous] / r
        previous = stage
    per_month = {k: math.ceil(v / months) for k, v in needed.items()}
    return {
        "revenue_goal": _money(revenue_goal),
        "months": months,
        "average_deal_size": _money(average_deal_size),
        "needed": {k: math.ceil(v) for k, v in needed.items()},
        "per_month": per_month,
        "run_rate_leads_per_month": round(run_rate_leads_per_month, 1),
        "lead_gap_per_month": round(per_month["lead"] - run_rate_leads_per_month, 1),
    }


def score_calibration(
    leads: Sequence[Row], deals: Sequence[Row], *, thresholds: Sequence[float] = ()
) -> dict[str, Any]:
    """Win rate and revenue by fit grade and interest band, and by total-score threshold:
    does the agreement's definition of a qualified lead predict revenue?"""
    latest = latest_deals(deals)
    won_by_lead: dict[str, Decimal] = defaultdict(Decimal)
    closed_by_lead: dict[str, int] = defaultdict(int)
    for deal in latest.values():
        if deal["stage"] in ("won", "lost"):
            closed_by_lead[deal["lead_id"]] += 1
        if deal["stage"] == "won":
            won_by_lead[deal["lead_id"]] += Decimal(deal["amount"])

    def summary(members: Sequence[Row]) -> dict[str, Any]:
        ids = [m["lead_id"] for m in members]
        customers = sum(1 for i in ids if won_by_lead.get(i))
        closed = sum(1 for i in ids if closed_by_lead.get(i))
        revenue = sum((won_by_lead.get(i, Decimal()) for i in ids), Decimal())
        return {
            "leads": len(ids),
            "customers": customers,
            "win_rate": rate(customers, closed),
            "lead_to_customer": rate(customers, len(ids)),
            "won_revenue": _money(revenue),
            "revenue_per_lead": _money(revenue / len(ids)) if ids else None,
        }

    cells: dict[tuple[str, str], list[Row]] = defaultdict(list)
    for lead in leads:
        cells[(lead.get("grade") or "?", lead.get("interest_band") or "?")].append(lead)
    matrix = [{"grade": g, "interest_band": b, **summary(m)} for (g, b), m in sorted(cells.items())]
    cuts: list[dict[str, Any]] = []
    for cut in sorted(thresholds):
        above = [
            lead for lead in leads if (lead.get("fit") or 0) + (lead.get("interest") or 0) >= cut
        ]
        below = [
            lead for lead in leads if (lead.get("fit") or 0) + (lead.get("interest") or 0) < cut
        ]
        cuts.append({"threshold": cut, "above": summary(above), "below": summary(below)})
    best = max(
        (c for c in cuts if c["above"]["leads"]),
        key=lambda c: (c["above"]["lead_to_customer"] or 0) - (c["below"]["lead_to_customer"] or 0),
        default=None,
    )
    return {
        "matrix": matrix,
        "thresholds": cuts,
        "best_separating_threshold": best["threshold"] if best else None,
    }
