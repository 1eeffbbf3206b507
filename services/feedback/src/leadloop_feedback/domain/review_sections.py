"""The sections of the review agenda, each from the reports of this period (and the one
before): results, both sides of the SLA, lead quality, revenue, what changed, what to decide."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from leadloop_feedback.domain.reports import FUNNEL
from leadloop_feedback.domain.review_parts import (
    Section,
    Snapshot,
    Table,
    apart,
    change,
    conversion_of,
    counts_of,
    in_currency,
    minutes,
    money,
    overall,
    pct,
    priced,
    roi,
    totals_of,
)

REJECTION_ALERT = 0.3  # a source whose rejection rate is above this needs a conversation
WITHIN_SLA_ALERT = 0.8  # a rep touching fewer hand-offs than this in time needs one too


def results(now: Snapshot, before: Snapshot) -> Section:
    """The funnel and the money against the previous period."""
    c, b = counts_of(now.funnel), counts_of(before.funnel)
    conv = conversion_of(now.funnel)
    money_now, money_before = totals_of(now.revenue), totals_of(before.revenue)
    rows = [
        [
            stage.upper() if stage in ("mql", "sql") else stage,
            str(c.get(stage, 0)),
            str(b.get(stage, 0)),
            change(c.get(stage, 0), b.get(stage, 0)),
        ]
        for stage in FUNNEL
    ]
    rows.append(
        [
            in_currency(now.revenue, "won revenue"),
            money(money_now["won"]),
            money(money_before["won"]),
            change(money_now["won"], money_before["won"]),
        ]
    )
    rows.append(
        [
            in_currency(now.revenue, "open pipeline"),
            money(money_now["pipeline"]),
            money(money_before["pipeline"]),
            change(money_now["pipeline"], money_before["pipeline"]),
        ]
    )
    bullets = [
        f"Lead → MQL {pct(conv.get('lead_to_mql'))}, MQL → SQL {pct(conv.get('mql_to_sql'))}, "
        f"SQL → accepted {pct(conv.get('sql_to_accepted'))}, "
        f"opportunity → customer {pct(conv.get('opportunity_to_customer'))}."
    ]
    return Section(
        "Results against the agreement",
        bullets,
        Table(["", "this period", "previous", "change"], rows),
    )


def marketing_sla(now: Snapshot) -> Section:
    """MQLs and SQLs delivered against the agreed targets."""
    marketing = now.sla.get("marketing") or {}
    bullets = []
    for key, label in (("mql", "MQLs"), ("sql", "SQLs")):
        m = marketing.get(key) or {}
        if m.get("target"):
            verdict = "on track" if (m.get("pacing") or 0) >= 1 else "behind"
            bullets.append(
                f"{label}: {m['delivered']} delivered against a target of "
                f"{m.get('goal') or m['target']}: {verdict} ({m.get('summary', '')})."
            )
        else:
            bullets.append(f"{label}: {m.get('delivered', 0)} delivered (no target agreed).")
    return Section("SLA, marketing's side: volume delivered", bullets)


def sales_sla(now: Snapshot, before: Snapshot) -> Section:
    """Speed to lead, overall and per rep."""
    sales = now.sla.get("sales") or {}
    o, ob = overall(now.sla), overall(before.sla)
    limit = sales.get("first_touch_minutes")
    bullets = [
        f"{o.get('assigned', 0)} leads handed off; first touch p50 {minutes(o.get('p50_minutes'))}"
        f", p90 {minutes(o.get('p90_minutes'))} (agreed: {minutes(limit)}).",
        f"Touched within the SLA: {pct(o.get('touched_within_sla'))} "
        f"(previous period {pct(ob.get('touched_within_sla'))}); {o.get('breaches', 0)} "
        f"breaches, {o.get('reassignments', 0)} reassignments, {o.get('attempts', 0)} attempts.",
    ]
    rows = [
        [
            str(g["group"]),
            str(g["assigned"]),
            str(g["touched"]),
            minutes(g.get("p50_minutes")),
            minutes(g.get("p90_minutes")),
            pct(g.get("touched_within_sla")),
            str(g.get("breaches", 0)),
        ]
        for g in sales.get("groups") or []
    ]
    table = Table(["rep", "handed off", "touched", "p50", "p90", "within SLA", "breaches"], rows)
    return Section("SLA, sales' side: speed to lead", bullets, table if rows else None)


def lead_quality(now: Snapshot) -> Section:
    """What sales accepted and rejected, and why."""
    groups = now.lead_quality.get("groups") or []
    reasons: dict[str, int] = {}
    for g in groups:
        for reason, n in (g.get("rejection_reasons") or {}).items():
            reasons[reason] = reasons.get(reason, 0) + n
    bullets = []
    if reasons:
        top = sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0]))[:3]
        bullets.append(
            "Why sales sent leads back: "
            + ", ".join(f"{r.replace('_', ' ')} ({n})" for r, n in top)
            + "."
        )
    else:
        bullets.append("Sales sent no lead back in this period.")
    rows = [
        [
            str(g["group"]),
            str(g["decided"]),
            pct(g.get("acceptance_rate")),
            pct(g.get("rejection_rate")),
            ", ".join(f"{r} {n}" for r, n in (g.get("rejection_reasons") or {}).items()),
        ]
        for g in groups
    ]
    table = Table(["source", "decided", "accepted", "rejected", "reasons"], rows)
    return Section("Lead quality: what sales said", bullets, table if rows else None)


def revenue(now: Snapshot) -> Section:
    """Won revenue, pipeline and return per campaign."""
    groups = sorted(now.revenue.get("groups") or [], key=lambda g: -(g.get("won_revenue") or 0))
    rows = [
        [
            str(g["group"]),
            money(g.get("won_revenue")),
            money(g.get("pipeline")),
            pct(g.get("win_rate")),
            money(g.get("spend")),
            roi(g.get("roi")),
        ]
        for g in groups
    ]
    totals = totals_of(now.revenue)
    currency = f" {now.revenue['currency']}" if now.revenue.get("currency") else ""
    bullets = [
        f"Won {money(totals['won'])}{currency} from {round(totals['deals'], 1):g} deals; "
        f"{money(totals['pipeline'])}{currency} in open pipeline "
        f"({now.revenue.get('attribution', 'linear').replace('_', ' ')} attribution).",
        *apart(now.revenue),
    ]
    columns = ["won", "pipeline", "win rate", "spend", "ROI"]
    money_columns = ("won", "pipeline", "spend")
    columns = [in_currency(now.revenue, c) if c in money_columns else c for c in columns]
    table = Table(["campaign", *columns], rows)
    return Section("Revenue by campaign", bullets, table if rows else None)


def what_changed(
    now: Snapshot, before: Snapshot, agreements: Sequence[Mapping[str, Any]]
) -> Section:
    """New agreements and the numbers that moved since the previous period."""
    bullets = [
        f"Agreement {a['version']} took effect on {a['published_at']:%Y-%m-%d}." for a in agreements
    ]
    c, b = counts_of(now.funnel), counts_of(before.funnel)
    for stage, label in (("lead", "New leads"), ("mql", "MQLs"), ("sql", "SQLs")):
        delta = change(c.get(stage, 0), b.get(stage, 0))
        if delta and delta != "unchanged":
            bullets.append(f"{label}: {b.get(stage, 0)} → {c.get(stage, 0)} ({delta}).")
    o, ob = overall(now.sla), overall(before.sla)
    if o.get("p50_minutes") is not None and ob.get("p50_minutes") is not None:
        bullets.append(
            f"Median speed to lead: {minutes(ob['p50_minutes'])} → {minutes(o['p50_minutes'])}."
        )
    seen = {g["group"] for g in before.revenue.get("groups") or []}
    fresh = [g["group"] for g in now.revenue.get("groups") or [] if g["group"] not in seen]
    if fresh:
        bullets.append("New campaigns bringing leads: " + ", ".join(sorted(fresh)) + ".")
    if not bullets:
        bullets.append("Nothing moved since the previous period.")
    return Section("What changed since last time", bullets)


def decisions(now: Snapshot) -> Section:
    """The points the meeting should decide on, from the numbers that missed."""
    points = []
    for key, label in (("mql", "MQL"), ("sql", "SQL")):
        m = (now.sla.get("marketing") or {}).get(key) or {}
        if m.get("target") and (m.get("pacing") or 0) < 1:
            points.append(
                f"Marketing: {label} volume is pacing at {pct(m.get('pacing'))} of target: "
                "which programs add volume, or should the target change?"
            )
    for g in (now.sla.get("sales") or {}).get("groups") or []:
        share = g.get("touched_within_sla")
        if share is not None and share < WITHIN_SLA_ALERT:
            points.append(
                f"Sales: {g['group']} touched {pct(share)} of hand-offs within the SLA "
                f"({g.get('breaches', 0)} breaches): capacity, routing weight or coaching?"
            )
    for g in now.lead_quality.get("groups") or []:
        if (g.get("rejection_rate") or 0) > REJECTION_ALERT and g.get("decided", 0) >= 3:
            top = max(
                (g.get("rejection_reasons") or {"unspecified": 0}).items(), key=lambda kv: kv[1]
            )[0]
            points.append(
                f"Lead quality: {pct(g['rejection_rate'])} of {g['group']} leads were rejected, "
                f"mostly {top.replace('_', ' ')}: tighten its fit rules or its targeting?"
            )
    for g in now.revenue.get("groups") or []:
        if g.get("spend") and g.get("roi") is not None and g["roi"] < 0 and g.get("pipeline"):
            points.append(
                f"Budget: {g['group']} has not paid back yet (ROI {roi(g['roi'])}) with "
                f"{priced(now.revenue, g['pipeline'])} in pipeline: keep funding it?"
            )
    if not points:
        points.append("Both sides kept the agreement: no decision is needed.")
    return Section("To decide", points)
