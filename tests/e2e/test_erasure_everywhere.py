"""Erasure, proven by search: after `DELETE /v1/leads/{id}`, no table in any schema and no report,
review, page or API answer holds the person's email, name or phone.

The person goes through every path that stores something about them first: a form fill with an
Idempotency-Key, a CSV import, activity posted by email with the email in the page URL, the hand-
off (lead intelligence, webhook delivery, alert email), and CRM calls whose free-text note and
deal reason name them. Then every text, JSON and bytea column of every table is searched.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from leadloop_db.engine import make_engine

from ..factories import acme_dental_form
from ..receivers import SmtpReceiver, WebhookReceiver
from ..waiting import wait_for
from .crm import connected_call, post_crm_calls

EMAIL = "Zebulon.Quaxmire+webinar@acme-dental.com"
FIRST, LAST = "Zebulon", "Quaxmire"
PHONE = "+49 30 5550 1987"
# What a search must not find, in any case: the email as given and as normalized, each name,
# the phone as given and as digits only.
NEEDLES = (
    EMAIL.lower(),
    "zebulonquaxmire",
    "zebulon.quaxmire@",
    FIRST.lower(),
    LAST.lower(),
    PHONE,
    "4930",
    "55501987",
)
ALWAYS = {"timezone": "UTC", "start": "00:00:00", "end": "23:59:59", "workdays": list(range(7))}
SKIP_SCHEMAS = ("pg_catalog", "information_schema", "pg_toast")


async def find_person(database_url: str) -> list[str]:
    """Every `schema.table.column` whose value contains a needle (case-insensitive)."""
    engine = make_engine(database_url, pool_size=1)
    hits: list[str] = []
    try:
        async with engine.connect() as conn:
            columns = (
                await conn.execute(
                    sa.text(
                        "SELECT table_schema, table_name, column_name, data_type "
                        "FROM information_schema.columns c "
                        "JOIN information_schema.tables t USING (table_schema, table_name) "
                        "WHERE t.table_type = 'BASE TABLE' AND table_schema <> ALL(:skip)"
                    ),
                    {"skip": list(SKIP_SCHEMAS)},
                )
            ).all()
            for schema, table, column, data_type in columns:
                if data_type == "bytea":
                    value = f"lower(convert_from(\"{column}\", 'UTF8'))"
                else:
                    value = f'lower("{column}"::text)'
                for needle in NEEDLES:
                    found = await conn.scalar(
                        sa.text(
                            f'SELECT count(*) FROM "{schema}"."{table}" '
                            f"WHERE strpos({value}, :needle) > 0"
                        ),
                        {"needle": needle.lower()},
                    )
                    if found:
                        hits.append(f"{schema}.{table}.{column} holds {needle!r} ({found} rows)")
    finally:
        await engine.dispose()
    return hits


def holds_person(text: str) -> list[str]:
    """The needles found in an API answer."""
    lowered = text.lower()
    return [n for n in NEEDLES if n.lower() in lowered]


@pytest.mark.timeout(240)
async def test_erased_person_is_in_no_table_and_no_report(
    start_service: Callable[..., Awaitable[Any]],
    http: httpx.AsyncClient,
    service_env: dict[str, str],
    webhook_receiver: WebhookReceiver,
    smtp_receiver: SmtpReceiver,
) -> None:
    smtp = {
        "LEADLOOP_SMTP_HOST": "127.0.0.1",
        "LEADLOOP_SMTP_PORT": str(smtp_receiver.port),
        "LEADLOOP_SMTP_STARTTLS": "false",
        "LEADLOOP_SMTP_SENDER": "leadloop@northwind.example",
        "LEADLOOP_DELIVERY_INTERVAL_S": "0.5",
    }
    scoring = await start_service("scoring")
    routing = await start_service("routing", smtp)
    feedback = await start_service("feedback")
    intake = await start_service("intake")
    r = await http.post(
        f"{routing.url}/v1/webhook-subscriptions",
        json={"url": webhook_receiver.url, "event_types": ["leadloop.lead.assigned.v1"]},
    )
    assert r.status_code in (200, 201), r.text
    r = await http.put(
        f"{routing.url}/v1/reps/rep-alice",
        json={
            "name": "Alice",
            "email": "rep-alice@northwind.example",
            "teams": ["dach"],
            "working_hours": ALWAYS,
        },
    )
    assert r.status_code == 200, r.text

    r = await http.post(
        f"{intake.url}/v1/form-submissions",
        headers={"Idempotency-Key": "erasure-form-1"},
        json=acme_dental_form(
            email=EMAIL,
            first_name=FIRST,
            last_name=LAST,
            phone=PHONE,
            page_url=f"https://acme.example/thanks?email={EMAIL}",
            fields={"how_did_you_hear": f"{FIRST} {LAST} heard it from a colleague"},
        ),
    )
    assert r.status_code == 202, r.text
    lead_id = r.json()["lead_id"]
    csv = f"email,first_name,last_name,phone,company\n{EMAIL},{FIRST},{LAST},{PHONE},ACME Dental\n"
    r = await http.post(
        f"{intake.url}/v1/imports",
        content=csv.encode(),
        headers={"content-type": "text/csv"},
        params={"source": "trade_show"},
    )
    assert r.status_code in (200, 201, 202), r.text
    r = await http.post(
        f"{intake.url}/v1/activities",
        json={
            "email": EMAIL,
            "type": "demo_request",
            "occurred_at": datetime.now(UTC).isoformat(),
            "url": f"https://acme.example/demo?email={EMAIL}&name={FIRST}",
            "properties": {"message": f"Call {FIRST} on {PHONE}"},
        },
    )
    assert r.status_code == 202, r.text

    async def alerted_and_mailed() -> bool:
        return bool(webhook_receiver.deliveries) and bool(smtp_receiver.mails)

    await wait_for(alerted_and_mailed, timeout_s=90, what="the webhook and the alert email")
    alert = webhook_receiver.deliveries[0].body.decode()
    assert holds_person(alert), "the lead alert should carry the person"

    now = datetime.now(UTC).isoformat()
    crm_calls = [
        connected_call("erasure-t-1", lead_id, now),
        (
            "status-updates",
            {
                "crm_event_id": "erasure-s-1",
                "lead_id": lead_id,
                "status": "accepted",
                "note": f"Spoke with {FIRST} {LAST}, call back on {PHONE}",
                "changed_at": now,
            },
        ),
        (
            "deals",
            {
                "crm_event_id": "erasure-d-1",
                "lead_id": lead_id,
                "deal_id": "D-ZQ",
                "stage": "lost",
                "amount": "9000",
                "currency": "EUR",
                "reason": f"{FIRST} chose a competitor",
                "closed_at": now,
            },
        ),
    ]
    await post_crm_calls(http, feedback.url, crm_calls)

    async def deal_in_journey() -> bool:
        story = await http.get(f"{feedback.url}/v1/leads/{lead_id}/journey")
        return story.status_code == 200 and "D-ZQ" in story.text

    await wait_for(deal_in_journey, timeout_s=60, what="the lost deal in the journey")
    before = await find_person(service_env["DATABASE_URL"])
    assert len(before) >= 5, f"the person should be stored in many places first: {before}"

    r = await http.delete(f"{intake.url}/v1/leads/{lead_id}")
    assert r.status_code == 202, r.text

    async def forgotten() -> bool:
        return not await find_person(service_env["DATABASE_URL"])

    try:
        await wait_for(forgotten, timeout_s=60, what="every service to forget the person")
    except AssertionError as exc:
        left = await find_person(service_env["DATABASE_URL"])
        raise AssertionError(f"after erasure the person is still in: {left}") from exc

    answers = await read_every_answer(
        http, intake.url, scoring.url, routing.url, feedback.url, lead_id
    )
    leaks = {where: found for where, text in answers.items() if (found := holds_person(text))}
    assert not leaks, f"answers still naming the person: {leaks}"


async def read_every_answer(
    http: httpx.AsyncClient, intake: str, scoring: str, routing: str, feedback: str, lead_id: str
) -> dict[str, str]:
    """Every report (JSON and CSV), review, page and per-lead answer, keyed by URL."""
    urls = [
        f"{intake}/v1/leads/{lead_id}",
        f"{scoring}/v1/leads/{lead_id}/score",
        f"{routing}/v1/leads/{lead_id}/assignment",
        f"{routing}/v1/webhook-deliveries?lead_id={lead_id}",
        f"{routing}/v1/webhook-deliveries",
        f"{feedback}/v1/leads/{lead_id}/journey",
        f"{feedback}/v1/reviews/weekly",
        f"{feedback}/v1/reviews/monthly?format=markdown",
        f"{feedback}/dashboard/panels",
    ]
    for report in ("funnel", "lead-quality", "revenue", "sla", "plan", "score-calibration"):
        urls += [f"{feedback}/v1/reports/{report}", f"{feedback}/v1/reports/{report}?format=csv"]
    responses = await asyncio.gather(*(http.get(u) for u in urls))
    for u, response in zip(urls, responses, strict=True):
        assert response.status_code < 500, f"{u}: {response.status_code} {response.text}"
    return {u: response.text for u, response in zip(urls, responses, strict=True)}
