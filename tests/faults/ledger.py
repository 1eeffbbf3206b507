"""After the faults: wait until the loop has drained, then count every lead, event and alert.

What is checked (and why it is the right guarantee):
- nothing reaches a dead-letter topic (an outage is not the record's fault).
- intake: every form fill answered 202 has exactly one lead, the one the answer named, exactly
  one submission (the load retries with the same Idempotency-Key, as marketing tools do), and
  exactly one distinct `lead.captured` event on leads.intake.
- scoring: the leads that must be SQLs (hand-raise accepted) are, the ones that cannot be
  (students, no hand-raise) are not, and no lead became an SQL twice (distinct event ids).
- routing: every SQL has exactly one assignment (its table and its API) and exactly one distinct
  `lead.assigned` event id on leads.handoff, naming that assignment. The outbox relay may
  republish a row after a kill between publish and mark-sent: a physical duplicate of the SAME
  event id, which every consumer drops by event id. Those are counted and reported, never
  accepted as a second alert; two different assigned event ids for one lead fail the test.
- webhooks and email: HTTP and SMTP cannot be exactly-once across a crash (the receiver may
  have taken the message just before the sender died and before it recorded the send). The
  guarantee checked is the one Standard Webhooks defines: every assignment is delivered, and
  every copy of it carries the same `webhook-id` (the event id), so a receiver that dedupes by
  webhook-id sees it once; likewise every copy of an email has the same Message-ID. On top of
  that, routing records each send in its own transaction, so a fault re-sends at most the one
  message in flight: each test passes how many faults could hit routing's send window
  (`max_resends`: one per routing kill or PostgreSQL restart, none for a broker pause), and
  the physical re-sends of each channel may not exceed it.
- feedback: the funnel and SLA reports equal the counts taken from the topics themselves.
"""

from __future__ import annotations

import asyncio
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from leadloop_events import topics
from leadloop_events.envelope import CloudEvent

from ..receivers import SmtpReceiver, WebhookReceiver
from ..waiting import wait_for
from .conftest import REPS, Stack
from .load import LoadGenerator
from .reading import (
    ASSIGNED,
    CAPTURED,
    STAGE_CHANGED,
    read_events,
    read_topic,
    scalar,
    unsent_outbox_rows,
)

FUNNEL = ("lead", "mql", "sql", "accepted", "opportunity", "customer")
DRAIN_TIMEOUT_S = 120.0


@dataclass
class Run:
    """One load-under-faults run: the stack, the load, and the receivers."""

    stack: Stack
    load: LoadGenerator
    engine: AsyncEngine
    webhooks: WebhookReceiver
    smtp: SmtpReceiver
    bootstrap: str
    prefix: str
    notes: dict[str, Any] = field(default_factory=dict)

    async def count(self, sql: str) -> int:
        return int(await scalar(self.engine, sql))


async def drain(run: Run) -> None:
    """Wait until every effect of the load has gone through the whole loop."""
    must = [a.lead_id for a in run.load.attempts if a.must_be_sql]

    async def progress() -> str:
        outbox = await unsent_outbox_rows(run.engine)
        return f"outbox backlog {outbox}; load {run.load.summary()}\n{run.stack.services.logs()}"

    async def outboxes_empty() -> bool:
        return not any((await unsent_outbox_rows(run.engine)).values())

    async def scoring_caught_up() -> bool:
        missing_leads = await run.count(
            "SELECT count(*) FROM intake.leads i WHERE NOT EXISTS "
            "(SELECT 1 FROM scoring.leads s WHERE s.lead_id = i.lead_id)"
        )
        missing_activities = await run.count(
            "SELECT count(*) FROM intake.activities i WHERE NOT EXISTS "
            "(SELECT 1 FROM scoring.activities s WHERE s.activity_id = i.activity_id)"
        )
        return missing_leads == 0 and missing_activities == 0

    async def every_sql_assigned() -> bool:
        return await _assigned_among(run, must) == len(must)

    async def alerts_out() -> bool:
        pending = await run.count(
            "SELECT (SELECT count(*) FROM routing.webhook_deliveries WHERE status <> 'succeeded')"
            " + (SELECT count(*) FROM routing.emails WHERE status <> 'sent')"
        )
        return pending == 0

    async def feedback_caught_up() -> bool:
        return (
            await run.count(
                "SELECT (SELECT count(*) FROM intake.leads) - (SELECT count(*) FROM feedback.leads)"
            )
            == 0
            and await run.count(
                "SELECT (SELECT count(*) FROM routing.assignments)"
                " - (SELECT count(*) FROM feedback.assignments)"
            )
            == 0
            and await run.count(
                "SELECT (SELECT count(*) FROM scoring.stage_history)"
                " - (SELECT count(*) FROM feedback.stage_events)"
            )
            == 0
        )

    checks = (
        (scoring_caught_up, "scoring to have every lead and activity intake holds"),
        (every_sql_assigned, f"routing to assign all {len(must)} leads that must be SQLs"),
        (outboxes_empty, "every outbox to be published"),
        (alerts_out, "every webhook delivered and every email sent"),
        (feedback_caught_up, "feedback to hold every lead, stage change and assignment"),
        (outboxes_empty, "every outbox to be published (after the last effects)"),
    )
    for condition, what in checks:
        await wait_for(condition, timeout_s=DRAIN_TIMEOUT_S, what=what, detail=progress)


async def _assigned_among(run: Run, lead_ids: list[str | None]) -> int:
    if not lead_ids:
        return 0
    return int(
        await scalar(
            run.engine,
            "SELECT count(DISTINCT lead_id) FROM routing.assignments WHERE lead_id = ANY(:ids)",
            ids=[i for i in lead_ids if i],
        )
    )


def by_lead(events: list[CloudEvent], event_type: str) -> dict[str, Counter[str]]:
    """lead id -> event id -> copies on the topic, for one event type."""
    out: dict[str, Counter[str]] = defaultdict(Counter)
    for e in events:
        if e.type == event_type:
            out[e.subject or ""][e.id] += 1
    return dict(out)


def physical_duplicates(counts: dict[str, Counter[str]]) -> int:
    return sum(n - 1 for per_lead in counts.values() for n in per_lead.values())


async def check_everything(run: Run, *, max_resends: int) -> dict[str, Any]:
    """Assert every guarantee (see the module docstring); returns what was counted."""
    load, http = run.load, run.stack.http
    accepted = load.accepted()
    assert accepted, f"the load generator got no 202 at all: {load.summary()}"
    intake_events = await read_events(run.bootstrap, run.prefix + topics.INTAKE)
    lifecycle = await read_events(run.bootstrap, run.prefix + topics.LIFECYCLE)
    handoff = await read_events(run.bootstrap, run.prefix + topics.HANDOFF)

    # Nothing was dead-lettered: an outage is never the record's fault.
    for topic in topics.ALL:
        dead = await read_topic(run.bootstrap, run.prefix + topics.dlq(topic))
        errors = [dict(r.headers).get("dlq.error", b"").decode()[:300] for r in dead]
        assert not dead, f"{len(dead)} record(s) dead-lettered from {topic}: {errors[:3]}"

    # intake: one lead per accepted form fill, the one the 202 named; one captured event each.
    async with run.engine.connect() as conn:
        rows = (await conn.execute(text("SELECT lead_id, email FROM intake.leads"))).all()
        assignments = (
            await conn.execute(
                text("SELECT lead_id, assignment_id, rep_id FROM routing.assignments")
            )
        ).all()
        per_lead_sql = "SELECT lead_id, count(*) FROM intake.{} GROUP BY lead_id"
        submissions: dict[str, int] = {
            r[0]: r[1] for r in await conn.execute(text(per_lead_sql.format("submissions")))
        }
        activities: dict[str, int] = {
            r[0]: r[1] for r in await conn.execute(text(per_lead_sql.format("activities")))
        }
    leads_by_email: dict[str, list[str]] = defaultdict(list)
    for lead_id, email in rows:
        leads_by_email[email].append(lead_id)
    wrong = {a.email: leads_by_email.get(a.email) for a in accepted}
    wrong = {e: ids for e, ids in wrong.items() if ids is None or len(ids) != 1}
    assert not wrong, f"accepted form fills without exactly one lead: {list(wrong.items())[:5]}"
    mismatched = [a for a in accepted if leads_by_email[a.email] != [a.lead_id]]
    assert not mismatched, f"leads other than the 202 named: {mismatched[:5]}"
    # Retries carried the same Idempotency-Key: one submission per form fill, one activity per
    # hand-raise, however often the load generator had to ask.
    lead_of = {a.n: a.lead_id or "" for a in accepted}
    forms = {lead_of[a.n]: submissions.get(lead_of[a.n], 0) for a in accepted}
    not_one_form = {lead: n for lead, n in forms.items() if n != 1}
    assert not not_one_form, (
        f"leads without exactly one submission: {list(not_one_form.items())[:5]}"
    )
    raised = {lead_of[a.n]: activities.get(lead_of[a.n], 0) for a in accepted if a.hand_raise_sent}
    twice_raised = {lead: n for lead, n in raised.items() if n > 1}
    assert not twice_raised, f"hand-raises recorded twice: {list(twice_raised.items())[:5]}"
    unrecorded = [
        lead_of[a.n] for a in accepted if a.activity_status == 202 and not raised[lead_of[a.n]]
    ]
    assert not unrecorded, f"hand-raises answered 202 but not recorded: {unrecorded[:5]}"
    await _all_readable(http, [f"{run.stack.intake}/v1/leads/{a.lead_id}" for a in accepted])
    captured = by_lead(intake_events, CAPTURED)
    lead_ids = {a.lead_id for a in accepted if a.lead_id}
    not_once = {lead: c for lead, c in captured.items() if lead in lead_ids and len(c) != 1}
    assert not not_once, f"leads captured under more than one event id: {not_once}"
    missing = lead_ids - set(captured)
    assert not missing, f"accepted leads with no captured event: {sorted(missing)[:5]}"

    # scoring: who became an SQL, and only once.
    sql_events: dict[str, Counter[str]] = defaultdict(Counter)
    for e in lifecycle:
        if e.type == STAGE_CHANGED and e.data.get("to_stage") == "sql":
            sql_events[e.subject or ""][e.id] += 1
    twice = {lead: c for lead, c in sql_events.items() if len(c) > 1}
    assert not twice, f"leads that became SQLs under several events: {twice}"
    sqls = set(sql_events)
    must = {a.lead_id for a in load.attempts if a.must_be_sql and a.lead_id}
    may = {a.lead_id for a in load.attempts if a.may_be_sql and a.lead_id}
    assert must <= sqls, f"hand-raisers that never became SQLs: {sorted(must - sqls)[:5]}"
    assert sqls <= may, f"SQLs that should not be: {sorted(sqls - may)[:5]}"

    # routing: one assignment per SQL, one distinct assigned event id naming it.
    per_lead: dict[str, list[tuple[str, str | None]]] = defaultdict(list)
    for lead_id, assignment_id, rep_id in assignments:
        per_lead[lead_id].append((assignment_id, rep_id))
    not_one = {lead: a for lead, a in per_lead.items() if len(a) != 1}
    assert not not_one, f"leads with several assignments: {list(not_one.items())[:5]}"
    assert set(per_lead) == sqls, (
        f"assigned but not SQL: {sorted(set(per_lead) - sqls)[:5]}; "
        f"SQL but not assigned: {sorted(sqls - set(per_lead))[:5]}"
    )
    await _all_readable(
        http, [f"{run.stack.routing}/v1/leads/{lead}/assignment" for lead in sorted(sqls)]
    )
    assigned = by_lead(handoff, ASSIGNED)
    several = {lead: c for lead, c in assigned.items() if len(c) != 1}
    assert not several, f"leads with several assigned event ids: {several}"
    assert set(assigned) == sqls, (
        f"alerts without an SQL: {sorted(set(assigned) - sqls)[:5]}; "
        f"SQLs without an alert: {sorted(sqls - set(assigned))[:5]}"
    )
    alert_of: dict[str, CloudEvent] = {}
    for e in handoff:
        if e.type == ASSIGNED:
            alert_of[e.subject or ""] = e
    for lead, [(assignment_id, _rep)] in per_lead.items():
        assert alert_of[lead].data["assignment_id"] == assignment_id, lead

    # webhooks: each assignment delivered, every copy under the one webhook-id (= event id).
    received = run.webhooks.by_assignment()
    unsigned = [d for d in run.webhooks.deliveries if not d.signature_ok]
    assert not unsigned, f"webhooks whose signature did not verify: {unsigned[:3]}"
    for lead, event in alert_of.items():
        ids = received.get(event.data["assignment_id"])
        assert ids is not None, f"no webhook for the assignment of {lead}"
        assert set(ids) == {event.id}, f"{lead}: webhook-ids {dict(ids)}, event id {event.id}"
    extra = set(received) - {e.data["assignment_id"] for e in alert_of.values()}
    assert not extra, f"webhooks for assignments that do not exist: {sorted(extra)[:5]}"
    webhook_resends = sum(n - 1 for ids in received.values() for n in ids.values())

    # email: one Message-ID per rep-assigned SQL, to its rep; none for queued or non-SQL leads.
    email_of = {a.lead_id: a.email for a in load.attempts if a.lead_id}
    mails = run.smtp.by_lead_email()
    rep_assigned = {lead for lead, [(_a, rep)] in per_lead.items() if rep is not None}
    for lead in rep_assigned:
        got = mails.get(email_of[lead])
        assert got is not None, f"no email about {lead} ({email_of[lead]})"
        assert len(got) == 1, f"{lead}: several distinct emails {dict(got)}"
    expected_emails = {email_of[lead] for lead in rep_assigned}
    stray = set(mails) - expected_emails
    assert not stray, f"emails about leads that were not assigned to a rep: {sorted(stray)[:5]}"
    rep_mail = {f"{rep}@northwind.example" for rep in REPS}
    assert {m.to for m in run.smtp.mails} <= rep_mail
    email_resends = sum(n - 1 for ids in mails.values() for n in ids.values())

    assert webhook_resends <= max_resends, f"{webhook_resends} webhooks sent twice"
    assert email_resends <= max_resends, f"{email_resends} emails sent twice"

    # feedback: the reports equal the counts taken from the topics.
    reached: dict[str, set[str]] = defaultdict(set)
    for e in lifecycle:
        if e.type == STAGE_CHANGED:
            reached[e.subject or ""].add(str(e.data.get("to_stage")))
    expected_funnel = dict.fromkeys(FUNNEL, 0)
    for lead in captured:
        deepest = max((FUNNEL.index(s) for s in reached.get(lead, ()) if s in FUNNEL), default=0)
        for stage in FUNNEL[: deepest + 1]:
            expected_funnel[stage] += 1
    mqls = {lead for lead, stages in reached.items() if "mql" in stages}
    teams = Counter(str(e.data["team"]) for e in alert_of.values())

    async def reports() -> dict[str, Any]:
        funnel = (await http.get(f"{run.stack.feedback}/v1/reports/funnel")).json()
        sla = (await http.get(f"{run.stack.feedback}/v1/reports/sla", params={"by": "team"})).json()
        counts = funnel["groups"][0]["counts"] if funnel["groups"] else {}
        return {
            "funnel": counts,
            "sla_assigned": (sla["sales"]["overall"] or {}).get("assigned", 0),
            "sla_by_team": {g["group"]: g["assigned"] for g in sla["sales"]["groups"]},
            "sla_sqls": sla["marketing"]["sql"]["delivered"],
            "sla_mqls": sla["marketing"]["mql"]["delivered"],
        }

    expected_reports = {
        "funnel": expected_funnel,
        "sla_assigned": len(alert_of),
        "sla_by_team": dict(teams),
        "sla_sqls": len(sqls),
        "sla_mqls": len(mqls),
    }
    last: dict[str, Any] = {}

    async def reports_match() -> bool:
        last.update(await reports())
        return last == expected_reports

    async def diff() -> str:
        return f"reports {last}\nevents  {expected_reports}"

    await wait_for(reports_match, timeout_s=60, what="the reports to equal the events", detail=diff)

    return {
        "load": load.summary(),
        "leads": len(lead_ids),
        "sqls": len(sqls),
        "assignments": len(alert_of),
        "captured_physical_duplicates": physical_duplicates(captured),
        "assigned_physical_duplicates": physical_duplicates(assigned),
        "webhooks_received": len(run.webhooks.deliveries),
        "webhook_resends": webhook_resends,
        "emails_received": len(run.smtp.mails),
        "email_resends": email_resends,
        "funnel": expected_funnel,
    }


async def _all_readable(http: httpx.AsyncClient, urls: list[str]) -> None:
    """GET every URL (20 at a time); each must answer 200."""
    slots = asyncio.Semaphore(20)

    async def get(url: str) -> tuple[str, int]:
        async with slots:
            return url, (await http.get(url)).status_code

    answers = await asyncio.gather(*(get(u) for u in urls))
    bad = [(u, s) for u, s in answers if s != 200]
    assert not bad, f"{len(bad)} of {len(urls)} GETs did not answer 200: {bad[:5]}"
