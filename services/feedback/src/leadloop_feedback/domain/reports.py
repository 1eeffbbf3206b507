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
from typing import Any, Final

from leadloop_contract.lifecycle import SALES_TARGETS
from leadloop_contract.values import CRM_STATUSES, REJECTIONS, CrmStatus, Stage

FUNNEL: Final[tuple[Stage, ...]] = ("lead", "mql", "sql", "accepted", "opportunity", "customer")
"""The funnel's stages in order (the exits, recycled and disqualified, are not steps of it)."""
ACCEPTANCES: Final[frozenset[CrmStatus]] = frozenset(
    s for s in CRM_STATUSES if SALES_TARGETS[s] in ("accepted", "opportunity")
)
"""The statuses by which sales takes a lead on (accepted, working, opportunity); those by which
it gives one back or drops it are the contract's REJECTIONS."""
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
    """The group a lead counts in: its source, campaign, monthly cohort, or "all"."""
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
        if s["status"] in ACCEPTANCES:
            verdicts[key].setdefault(s["lead_id"], "accepted")
        elif s["status"] in REJECTIONS:
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


def _money(value: Decimal) -> float:
    return float(value.quantize(Decimal("0.01")))


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
