"""Every intake endpoint against a real Postgres and a real broker, through the app in-process."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

import httpx
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from leadloop_events import topics
from leadloop_intake.adapters.tables import leads, outbox, submissions
from leadloop_intake.config import Settings
from leadloop_platform.auth.keys import create_key, revoke_key

from ..messaging.support import read_all
from .conftest import HUBSPOT_SECRET, KEY

ANA = {
    "email": "Ana.Lopez@ACME-Dental.com",
    "first_name": "Ana",
    "last_name": "Lopez",
    "company": "ACME Dental",
    "job_title": "Head of Operations",
    "company_size": 240,
    "industry": "Healthcare",
    "country": "de",
    "source": "webinar",
    "campaign": "q4-dental-webinar",
    "utm": {"source": "linkedin", "medium": "paid_social", "campaign": "q4"},
    "consent": True,
    "fields": {"how_did_you_hear": "a colleague"},
}
AUTH = {"authorization": f"Bearer {KEY}"}


async def events(settings: Settings, expect: int) -> list[dict[str, Any]]:
    records = await read_all(
        settings.kafka_bootstrap_servers, settings.topic(topics.INTAKE), expect=expect
    )
    return [json.loads(r.value) for r in records]


async def test_form_fill_becomes_one_lead_and_a_captured_event(
    client: httpx.AsyncClient, engine: AsyncEngine, settings: Settings
) -> None:
    r = await client.post("/v1/form-submissions", json=ANA, headers=AUTH)
    assert r.status_code == 202, r.text
    first = r.json()
    again = {"email": "ana.lopez@acme-dental.com", "job_title": "COO", "source": "organic"}
    r = await client.post("/v1/form-submissions", json=again, headers=AUTH)
    second = r.json()
    assert second["lead_id"] == first["lead_id"]
    assert second["submission_id"] != first["submission_id"]

    async with engine.connect() as conn:
        lead = (await conn.execute(sa.select(leads))).one()
        raws = (await conn.execute(sa.select(submissions.c.raw))).scalars().all()
    assert lead.job_title == "COO" and lead.company == "ACME Dental" and lead.country == "DE"
    assert json.loads(raws[0]) == ANA or json.loads(raws[1]) == ANA  # kept verbatim

    published = await events(settings, expect=2)
    assert [e["type"] for e in published] == ["leadloop.lead.captured.v1"] * 2
    captured = next(e for e in published if e["data"]["submission_id"] == first["submission_id"])
    assert captured["subject"] == first["lead_id"]
    assert captured["data"]["is_new_lead"] is True
    assert captured["data"]["profile"]["company_size"] == 240
    assert captured["data"]["utm"]["medium"] == "paid_social"
    assert captured["correlationid"]


async def test_idempotency_key_returns_the_first_answer_and_publishes_nothing_new(
    client: httpx.AsyncClient, engine: AsyncEngine, settings: Settings
) -> None:
    headers = {**AUTH, "Idempotency-Key": "form-42"}
    first = await client.post("/v1/form-submissions", json=ANA, headers=headers)
    retry = await client.post("/v1/form-submissions", json=ANA, headers=headers)
    assert retry.status_code == 202
    assert retry.json() == first.json()
    assert retry.headers["idempotent-replayed"] == "true"
    other = await client.post(
        "/v1/form-submissions", json={**ANA, "company": "Other"}, headers=headers
    )
    assert other.status_code == 422
    assert other.headers["content-type"] == "application/problem+json"
    async with engine.connect() as conn:
        assert await conn.scalar(sa.select(sa.func.count()).select_from(outbox)) == 1
        assert await conn.scalar(sa.select(sa.func.count()).select_from(submissions)) == 1


async def test_keys_and_scopes(client: httpx.AsyncClient, engine: AsyncEngine) -> None:
    _, reports_only = await create_key(engine, "dashboard", ["reports:read"])
    writer_id, writer = await create_key(engine, "hubspot-sync", ["intake:write"])
    url = "/v1/form-submissions"
    assert (await client.post(url, json=ANA)).status_code == 401
    assert (
        await client.post(url, json=ANA, headers={"authorization": "Bearer nope"})
    ).status_code == 401
    r = await client.post(url, json=ANA, headers={"authorization": f"Bearer {reports_only}"})
    assert r.status_code == 403 and "intake:write" in r.json()["detail"]
    r = await client.post(url, json=ANA, headers={"authorization": f"Bearer {writer}"})
    assert r.status_code == 202
    assert await revoke_key(engine, writer_id)
    client._transport.app.state.auth_cache.clear()  # type: ignore[attr-defined]
    r = await client.post(url, json=ANA, headers={"authorization": f"Bearer {writer}"})
    assert r.status_code == 401
    r = await client.delete("/v1/leads/x", headers={"authorization": f"Bearer {reports_only}"})
    assert r.status_code == 403


def hubspot_headers(
    body: bytes, url: str, ts_ms: int, secret: str = HUBSPOT_SECRET
) -> dict[str, str]:
    message = b"POST" + url.encode() + body + str(ts_ms).encode()
    signature = base64.b64encode(hmac.new(secret.encode(), message, hashlib.sha256).digest())
    return {
        "X-HubSpot-Signature-v3": signature.decode(),
        "X-HubSpot-Request-Timestamp": str(ts_ms),
        "content-type": "application/json",
    }


async def test_hubspot_webhook_signed_maps_onto_a_capture(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    body = json.dumps(
        {
            "vid": 7,
            "properties": {
                "email": {"value": "bo@globex.io"},
                "firstname": {"value": "Bo"},
                "numemployees": {"value": "1000+"},
            },
        }
    ).encode()
    url = "http://intake/v1/webhooks/hubspot"
    now = int(time.time() * 1000)
    r = await client.post(url, content=body, headers=hubspot_headers(body, url, now))
    assert r.status_code == 202, r.text
    lead_id = r.json()["lead_id"]
    stale = await client.post(url, content=body, headers=hubspot_headers(body, url, now - 400_000))
    forged = await client.post(url, content=body, headers=hubspot_headers(body, url, now, "x"))
    missing = await client.post(url, content=body, headers={"content-type": "application/json"})
    assert [stale.status_code, forged.status_code, missing.status_code] == [401, 401, 401]
    [event] = await events(settings, expect=1)
    assert event["subject"] == lead_id
    assert event["data"]["channel"] == "hubspot"
    assert event["data"]["profile"]["company_size"] == 1000


async def test_activities_single_and_batch_all_or_nothing(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    lead_id = (await client.post("/v1/form-submissions", json=ANA, headers=AUTH)).json()["lead_id"]
    one = {
        "lead_id": lead_id,
        "type": "pricing_page_view",
        "occurred_at": "2026-11-20T09:30:00Z",
        "url": "https://example.com/pricing",
    }
    r = await client.post("/v1/activities", json=one, headers=AUTH)
    assert r.status_code == 202 and len(r.json()["activity_ids"]) == 1
    batch = {
        "activities": [
            {
                "email": "ANA.LOPEZ@acme-dental.com",
                "type": "demo_request",
                "occurred_at": "2026-11-20T10:00:00Z",
            },
            {
                "email": "stranger@nowhere.io",
                "type": "page_view",
                "occurred_at": "2026-11-20T10:01:00Z",
            },
        ]
    }
    r = await client.post("/v1/activities", json=batch, headers=AUTH)
    assert r.status_code == 422
    assert r.json()["errors"][0]["pointer"] == "/activities/1/email"
    batch["activities"].pop()
    r = await client.post("/v1/activities", json=batch, headers=AUTH)
    assert r.status_code == 202
    published = await events(settings, expect=3)
    activity = [e for e in published if e["type"] == "leadloop.lead.activity_recorded.v1"]
    assert [a["data"]["activity_type"] for a in activity] == ["pricing_page_view", "demo_request"]
    assert all(a["subject"] == lead_id for a in activity)


async def test_csv_import_keeps_good_rows_and_reports_bad_ones(
    client: httpx.AsyncClient, engine: AsyncEngine, settings: Settings
) -> None:
    lines = ["email,first_name,company,company_size,country"]
    lines += [f"visitor{i}@expo-{i % 7}.com,V{i},Expo {i % 7},{10 + i},US" for i in range(2500)]
    lines.insert(100, "not-an-email,Bad,Row,5,US")
    lines.insert(200, "ok@fine.com,Fine,Row,5,Atlantis")
    lines.append("visitor1@expo-1.com,Again,Expo 1,11,US")
    body = ("\n".join(lines) + "\n").encode()
    r = await client.post(
        "/v1/imports?source=event&campaign=expo-2026",
        content=body,
        headers={**AUTH, "content-type": "text/csv"},
    )
    assert r.status_code == 200, r.text
    result = r.json()
    assert result["rows_accepted"] == 2501
    assert result["new_leads"] == 2500
    assert result["rows_rejected"] == 2
    assert [e["line"] for e in result["errors"]] == [101, 201]
    async with engine.connect() as conn:
        assert await conn.scalar(sa.select(sa.func.count()).select_from(leads)) == 2500
    multipart = await client.post(
        "/v1/imports",
        files={"file": ("list.csv", b"email\nzed@zeta.io\n", "text/csv")},
        headers=AUTH,
    )
    assert multipart.json()["rows_accepted"] == 1
    no_email = await client.post(
        "/v1/imports", content=b"name\nx\n", headers={**AUTH, "content-type": "text/csv"}
    )
    assert no_email.status_code == 422


async def test_get_lead_and_erasure(
    client: httpx.AsyncClient, engine: AsyncEngine, settings: Settings
) -> None:
    lead_id = (await client.post("/v1/form-submissions", json=ANA, headers=AUTH)).json()["lead_id"]
    await client.post(
        "/v1/activities",
        headers=AUTH,
        json={
            "lead_id": lead_id,
            "type": "content_download",
            "occurred_at": "2026-11-20T10:00:00Z",
            "properties": {"email_seen": "ana.lopez@acme-dental.com"},
        },
    )
    r = await client.get(f"/v1/leads/{lead_id}", headers=AUTH)
    assert r.status_code == 200
    view = r.json()
    assert view["email"] == "Ana.Lopez@acme-dental.com"
    assert view["submissions"][0]["raw"]["first_name"] == "Ana"
    assert (await client.get("/v1/leads/missing", headers=AUTH)).status_code == 404

    r = await client.delete(f"/v1/leads/{lead_id}", headers=AUTH)
    assert r.status_code == 202
    assert (await client.delete(f"/v1/leads/{lead_id}", headers=AUTH)).status_code == 202
    published = await events(settings, expect=3)
    assert [e["type"] for e in published].count("leadloop.lead.erased.v1") == 1

    async with engine.connect() as conn:
        dump = await conn.scalar(
            sa.text(
                "SELECT string_agg(t::text, ' ') FROM ("
                " SELECT l::text AS t FROM intake.leads l UNION ALL"
                " SELECT s::text FROM intake.submissions s UNION ALL"
                " SELECT a::text FROM intake.activities a UNION ALL"
                " SELECT convert_from(o.payload, 'UTF8') FROM intake.outbox o) x"
            )
        )
    assert "acme-dental" not in dump.lower()
    assert "Lopez" not in dump
    assert (await client.get(f"/v1/leads/{lead_id}", headers=AUTH)).json()["erased_at"]
