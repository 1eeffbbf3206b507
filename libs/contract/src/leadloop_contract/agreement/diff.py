"""What changes between two agreement versions, in words the heads of sales and marketing use."""

from __future__ import annotations

from leadloop_contract.agreement.model import Agreement


def _points(p: float) -> str:
    return f"{p:+g}"


def _thresholds(old: Agreement, new: Agreement) -> list[str]:
    out = []
    for name, o, n, effect in (
        ("MQL", old.matrix.mql.min_total, new.matrix.mql.min_total, "MQLs"),
        ("SQL", old.matrix.sql.min_total, new.matrix.sql.min_total, "SQLs"),
    ):
        if o != n:
            direction, fewer = ("rises", "fewer") if n > o else ("falls", "more")
            out.append(
                f"The {name} threshold {direction} from {o:g} to {n:g} points: "
                f"{fewer} leads become {effect}."
            )
    for name, o, n in (
        ("fit", old.matrix.fit_threshold, new.matrix.fit_threshold),
        ("interest", old.matrix.interest_threshold, new.matrix.interest_threshold),
    ):
        if o != n:
            out.append(f"A lead counts as a {name} from {n:g} points instead of {o:g}.")
    for name, was, now in (
        ("MQL", old.matrix.mql.min_grade, new.matrix.mql.min_grade),
        ("SQL", old.matrix.sql.min_grade, new.matrix.sql.min_grade),
    ):
        if was != now:
            out.append(f"An {name} now needs fit grade {now} or better (was {was}).")
    return out


def _fit(old: Agreement, new: Agreement) -> list[str]:
    out = []
    before = {r.id: r for r in old.fit.rules}
    after = {r.id: r for r in new.fit.rules}
    for rid in sorted(after.keys() - before.keys()):
        r = after[rid]
        out.append(
            f"New fit rule `{rid}` ({r.description or r.field}): {_points(r.points)} points."
        )
    for rid in sorted(before.keys() - after.keys()):
        out.append(
            f"Fit rule `{rid}` is removed: leads it matched lose {before[rid].points:g} points."
        )
    for rid in sorted(before.keys() & after.keys()):
        o, n = before[rid], after[rid]
        if o.points != n.points:
            out.append(f"Fit rule `{rid}` now gives {n.points:g} points instead of {o.points:g}.")
        if (o.field, o.op, o.value) != (n.field, n.op, n.value):
            out.append(
                f"Fit rule `{rid}` now matches {n.field} {n.op} {n.value} "
                f"(was {o.field} {o.op} {o.value})."
            )
    if old.fit.grades != new.fit.grades:
        out.append(
            "Fit grade bands change: "
            + ", ".join(f"{g} from {new.fit.grades[g]:g}" for g in ("A", "B", "C", "D"))
            + "."
        )
    return out


def _interest(old: Agreement, new: Agreement) -> list[str]:
    out = []
    o, n = old.interest, new.interest
    for kind in sorted(set(o.points) | set(n.points)):
        before, after = o.points.get(kind), n.points.get(kind)
        if before != after:
            out.append(
                f"A {kind} is now worth {after or 0:g} interest points (was {before or 0:g})."
            )
    if o.half_life_days != n.half_life_days:
        faster = "faster" if n.half_life_days < o.half_life_days else "more slowly"
        out.append(
            f"Interest fades {faster}: half-life {n.half_life_days:g} days "
            f"(was {o.half_life_days:g})."
        )
    added = set(n.hand_raise.activities) - set(o.hand_raise.activities)
    removed = set(o.hand_raise.activities) - set(n.hand_raise.activities)
    for kind in sorted(added):
        out.append(f"A {kind} is now a hand-raise: a fit lead becomes sales-ready at once.")
    for kind in sorted(removed):
        out.append(f"A {kind} is no longer a hand-raise.")
    if o.hand_raise.min_grade != n.hand_raise.min_grade:
        out.append(
            f"Hand-raises qualify from fit grade {n.hand_raise.min_grade} "
            f"(was {o.hand_raise.min_grade})."
        )
    return out


def _negative(old: Agreement, new: Agreement) -> list[str]:
    out = []
    o, n = old.negative, new.negative
    disq = "competitor" in n.disqualify
    for domain in sorted(set(n.competitor_domains) - set(o.competitor_domains)):
        tail = " and are disqualified" if disq else ""
        out.append(
            f"Competitor domain {domain} added: its people score "
            f"{n.points.get('competitor', 0):g}{tail}."
        )
    for domain in sorted(set(o.competitor_domains) - set(n.competitor_domains)):
        out.append(f"{domain} is no longer treated as a competitor.")
    for domain in sorted(set(n.free_mail_domains) - set(o.free_mail_domains)):
        out.append(f"Free-mail domain {domain} added.")
    for kind in sorted(set(o.points) | set(n.points)):
        if o.points.get(kind) != n.points.get(kind):
            out.append(
                f"The {kind} penalty is now {n.points.get(kind, 0):g} points "
                f"(was {o.points.get(kind, 0):g})."
            )
    for kind in sorted(set(n.disqualify) - set(o.disqualify)):
        out.append(f"A {kind} lead is now disqualified outright.")
    for kind in sorted(set(o.disqualify) - set(n.disqualify)):
        out.append(f"A {kind} lead is no longer disqualified outright.")
    return out


def _rest(old: Agreement, new: Agreement) -> list[str]:
    out = []
    if old.recycle != new.recycle:
        out.append(
            f"A recycled lead re-qualifies with {new.recycle.requalify_interest:g} new "
            f"interest points after {new.recycle.cool_off_days} days "
            f"(was {old.recycle.requalify_interest:g} after {old.recycle.cool_off_days})."
        )
    if old.sla.first_touch_minutes != new.sla.first_touch_minutes:
        out.append(
            f"Sales promises a first touch within {new.sla.first_touch_minutes} working "
            f"minutes (was {old.sla.first_touch_minutes})."
        )
    if old.sla.mql_target_per_month != new.sla.mql_target_per_month:
        out.append(
            f"Marketing's MQL target is {new.sla.mql_target_per_month} a month "
            f"(was {old.sla.mql_target_per_month})."
        )
    if old.routing != new.routing:
        out.append("Routing teams or territories change.")
    if old.crm != new.crm:
        out.append("What the CRMs are told on a lead alert (lead status, lifecycle) changes.")
    return out


def diff_agreements(old: Agreement, new: Agreement) -> list[str]:
    """Every change that affects who becomes an MQL or SQL, or what each side promises."""
    return [
        *_thresholds(old, new),
        *_fit(old, new),
        *_interest(old, new),
        *_negative(old, new),
        *_rest(old, new),
    ]
