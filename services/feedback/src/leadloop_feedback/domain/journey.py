"""One lead's story in words, one line per event, without personal data."""

from __future__ import annotations

from typing import Any


def describe(event_type: str, data: dict[str, Any]) -> str:
    """A sentence for one event of the loop."""
    kind = event_type.removeprefix("leadloop.").removesuffix(".v1")
    d = data
    if kind == "lead.captured":
        via = {"form": "a form", "hubspot": "HubSpot", "import": "a list import"}[d["channel"]]
        origin = ", ".join(x for x in (d.get("source"), d.get("campaign")) if x) or "no source"
        return f"Captured from {via} ({origin}){'; a new lead' if d.get('is_new_lead') else ''}."
    if kind == "lead.activity_recorded":
        campaign = f" ({d['campaign']})" if d.get("campaign") else ""
        return f"Activity: {d['activity_type'].replace('_', ' ')}{campaign}."
    if kind == "lead.scored":
        return (
            f"Scored {d['total']:g} (fit {d['fit']:g}, interest {d['interest']:g}), "
            f"grade {d['grade']}, {d['interest_band']} interest, agreement "
            f"{d['agreement_version']}."
        )
    if kind == "lead.stage_changed":
        return f"Stage {d['from_stage']} → {d['to_stage']}: {d['reason']}."
    if kind == "lead.assigned":
        owner = d.get("owner_rep_id") or "the team queue"
        return (
            f"Handed off to {owner} ({d['team']}, {d['business']} business); first touch "
            f"due {d['sla_deadline'][:16].replace('T', ' ')} UTC."
        )
    if kind == "lead.sla_breached":
        return f"SLA missed by {d.get('rep_id') or 'the queue'}: {d['step'].replace('_', ' ')}."
    if kind == "lead.reassigned":
        return (
            f"Reassigned from {d.get('from_rep_id')} to {d.get('to_rep_id') or 'the team queue'}."
        )
    if kind == "lead.touched":
        return f"{d['rep_id']}: {d['channel']}, {d['outcome'].replace('_', ' ')}."
    if kind == "lead.status_changed":
        reason = f" ({d['reason_code']})" if d.get("reason_code") else ""
        return f"CRM status: {d['status']}{reason}."
    if kind == "deal.closed":
        return f"Deal {d['deal_id']} {d['stage']}: {d['amount']} {d['currency']}."
    if kind == "lead.linked":
        system = {"hubspot": "HubSpot", "salesforce": "Salesforce"}.get(d["system"], d["system"])
        return f"Linked to {system} record {d['external_id']}."
    if kind == "lead.erased":
        return "Erased."
    return kind
