"""Fit, negatives and the score: who the lead is, what they do, and what it adds up to."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from leadloop_contract.agreement import Agreement, FitRule, NegativeKind, Range
from leadloop_contract.agreement.patterns import search
from leadloop_contract.bounds import MAX_NOTE
from leadloop_contract.profile import LeadProfile
from leadloop_contract.values import GRADES, Grade
from leadloop_events.lifecycle import ScoreLine
from leadloop_scoring.domain.interest import ActivityFact, band_of, in_window, interest_lines

Quadrant = Literal["sales_now", "nurture", "not_handed_off"]


@dataclass(frozen=True)
class Score:
    """A lead's score under one agreement, with every rule that moved it."""

    fit: float
    interest: float
    total: float
    grade: Grade
    interest_band: str
    breakdown: list[ScoreLine] = field(default_factory=list)
    hand_raise: str | None = None
    disqualified_by: NegativeKind | None = None
    quadrant: Quadrant = "not_handed_off"


def email_domain(profile: LeadProfile) -> str:
    return profile.email.rpartition("@")[2].lower()


def _value(profile: LeadProfile, name: str) -> Any:
    return email_domain(profile) if name == "email_domain" else getattr(profile, name)


def _text(value: Any) -> str:
    return str(value).strip().lower()


def matches(rule: FitRule, profile: LeadProfile) -> bool:
    """Whether the profile meets the rule's condition (a missing field never does)."""
    value = _value(profile, rule.field)
    if value is None or value == "":
        return False
    if rule.op == "equals":
        return _text(value) == _text(rule.value)
    if rule.op == "one_of":
        return _text(value) in {_text(v) for v in rule.value}
    if rule.op == "contains":
        return _text(rule.value) in _text(value)
    if rule.op == "regex":
        return search(str(rule.value), str(value))
    if rule.op == "email_domain_in":
        domain = email_domain(profile)
        return any(domain == d.lower() or domain.endswith("." + d.lower()) for d in rule.value)
    bounds = Range.model_validate(rule.value)
    if not isinstance(value, int | float):
        return False
    return (bounds.min is None or value >= bounds.min) and (
        bounds.max is None or value <= bounds.max
    )


def _clip(reason: str) -> str:
    """A reason that fits a ScoreLine (a rule's value may be a long list)."""
    return reason if len(reason) <= MAX_NOTE else reason[: MAX_NOTE - 1] + "…"


def grade_of(agreement: Agreement, fit: float) -> Grade:
    for grade in GRADES:
        if fit >= agreement.fit.grades[grade]:
            return grade
    return "D"


def negatives(
    agreement: Agreement, profile: LeadProfile | None, facts: Sequence[ActivityFact]
) -> list[tuple[NegativeKind, str]]:
    """Which negative rules apply, each with a reason."""
    rules = agreement.negative
    found: list[tuple[NegativeKind, str]] = []
    if profile is not None:
        domain = email_domain(profile)
        if domain in {d.lower() for d in rules.competitor_domains}:
            found.append(("competitor", f"{domain} is a competitor"))
        if domain in {d.lower() for d in rules.free_mail_domains}:
            found.append(("free_mail", f"{domain} is a free-mail address"))
        title = profile.job_title or ""
        if any(domain.endswith(s.lower()) for s in rules.student.domain_suffixes) or any(
            search(p, title) for p in rules.student.title_patterns
        ):
            found.append(("student", "looks like a student"))
        hit = next((t for t in rules.excluded_titles if t.lower() in title.lower()), None)
        if hit:
            found.append(("excluded_title", f"job title contains {hit!r}"))
    if any(f.activity_type == "unsubscribe" for f in facts):
        found.append(("unsubscribe", "unsubscribed from marketing email"))
    return found


def score(
    agreement: Agreement,
    profile: LeadProfile | None,
    activities: Sequence[ActivityFact],
    now: datetime,
    *,
    since: datetime | None = None,
) -> Score:
    """The lead's fit (negatives included), interest, grade, band, quadrant and breakdown."""
    fit, lines = _fit(agreement, profile)
    disqualified_by: NegativeKind | None = None
    for kind, reason in negatives(agreement, profile, activities):
        points = agreement.negative.points.get(kind, 0.0)
        fit += points
        lines.append(
            ScoreLine(rule=f"negative:{kind}", kind="negative", points=points, reason=_clip(reason))
        )
        if kind in agreement.negative.disqualify and disqualified_by is None:
            disqualified_by = kind
    interest, interest_breakdown = interest_lines(agreement, activities, now, since)
    lines.extend(interest_breakdown)
    hand_raise = _hand_raise(agreement, activities, now, since)
    matrix = agreement.matrix
    quadrant: Quadrant
    if disqualified_by is not None or fit < matrix.fit_threshold:
        quadrant = "not_handed_off"
    elif interest >= matrix.interest_threshold or hand_raise is not None:
        quadrant = "sales_now"
    else:
        quadrant = "nurture"
    return Score(
        fit=round(fit, 2),
        interest=round(interest, 2),
        total=round(fit + interest, 2),
        grade=grade_of(agreement, fit),
        interest_band=band_of(agreement, interest),
        breakdown=lines,
        hand_raise=hand_raise,
        disqualified_by=disqualified_by,
        quadrant=quadrant,
    )


def _fit(agreement: Agreement, profile: LeadProfile | None) -> tuple[float, list[ScoreLine]]:
    """The fit rules' points (before negatives), one line per rule met."""
    lines: list[ScoreLine] = []
    fit = 0.0
    if profile is None:
        return fit, lines
    for rule in agreement.fit.rules:
        if matches(rule, profile):
            fit += rule.points  # added in rule order, as every earlier score was
            lines.append(
                ScoreLine(
                    rule=f"fit:{rule.id}",
                    kind="fit",
                    points=rule.points,
                    reason=_clip(rule.description or f"{rule.field} {rule.op} {rule.value}"),
                )
            )
    return fit, lines


def _hand_raise(
    agreement: Agreement,
    activities: Sequence[ActivityFact],
    now: datetime,
    since: datetime | None,
) -> str | None:
    """The most recent hand-raise in the interest window, if any."""
    latest = sorted(
        in_window(agreement, activities, now, since), key=lambda f: f.occurred_at, reverse=True
    )
    hand_raises = agreement.interest.hand_raise.activities
    return next((f.activity_type for f in latest if f.activity_type in hand_raises), None)


def grade_at_least(grade: Grade, minimum: Grade) -> bool:
    """A is the best grade: B is at least C."""
    return GRADES.index(grade) <= GRADES.index(minimum)
