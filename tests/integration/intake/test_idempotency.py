"""Idempotency keys are the caller's own and expire (#12 item 15): the same Idempotency-Key from
two API keys is two requests, and a key older than LEADLOOP_IDEMPOTENCY_TTL_HOURS is a new key."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from leadloop_intake.adapters.tables import idempotency_keys, submissions
from leadloop_platform.auth.keys import create_key

from .conftest import KEY

K = {"Idempotency-Key": "nightly-sync-0001"}
AS_BOOTSTRAP = {"authorization": f"Bearer {KEY}"} | K


async def test_the_same_key_from_two_callers_is_two_requests(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    _, other = await create_key(engine, "globex-sync", ["intake:write"])
    as_other = {"authorization": f"Bearer {other}"} | K
    ana = await client.post(
        "/v1/form-submissions", json={"email": "ana@acme.com"}, headers=AS_BOOTSTRAP
    )
    bo = await client.post("/v1/form-submissions", json={"email": "bo@globex.io"}, headers=as_other)
    assert (ana.status_code, bo.status_code) == (202, 202), bo.text
    assert "idempotent-replayed" not in bo.headers
    assert bo.json()["lead_id"] != ana.json()["lead_id"]  # not Ana's answer replayed to Globex
    # Each caller's own retry is still answered once.
    again = await client.post(
        "/v1/form-submissions", json={"email": "bo@globex.io"}, headers=as_other
    )
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json() == bo.json()
    async with engine.connect() as conn:
        assert await conn.scalar(sa.select(sa.func.count()).select_from(submissions)) == 2
        callers = set(await conn.scalars(sa.select(idempotency_keys.c.caller)))
    assert len(callers) == 2 and "bootstrap" in callers


async def age_keys(engine: AsyncEngine, by: timedelta) -> None:
    """Move every stored key `by` into the past (instead of waiting 72 hours)."""
    async with engine.begin() as conn:
        await conn.execute(
            idempotency_keys.update().values(created_at=idempotency_keys.c.created_at - by)
        )


async def test_an_expired_key_is_a_new_key_and_is_purged(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    url = "/v1/form-submissions"
    first = await client.post(url, json={"email": "ana@acme.com"}, headers=AS_BOOTSTRAP)
    await age_keys(engine, timedelta(hours=71))
    within = await client.post(url, json={"email": "ana@acme.com"}, headers=AS_BOOTSTRAP)
    assert within.headers["idempotent-replayed"] == "true"  # 71 h old: still the same request

    await age_keys(engine, timedelta(hours=2))  # now 73 h old: expired
    later = await client.post(url, json={"email": "cy@initech.com"}, headers=AS_BOOTSTRAP)
    assert later.status_code == 202, later.text
    assert "idempotent-replayed" not in later.headers
    assert later.json()["lead_id"] != first.json()["lead_id"]
    async with engine.connect() as conn:
        [(lead_id, created_at)] = (
            await conn.execute(sa.select(idempotency_keys.c.lead_id, idempotency_keys.c.created_at))
        ).all()
    assert lead_id == later.json()["lead_id"]
    assert created_at > datetime.now(UTC) - timedelta(minutes=5)

    # An expired key of any caller is deleted when a later key is claimed.
    await age_keys(engine, timedelta(hours=100))
    other = {"authorization": f"Bearer {KEY}", "Idempotency-Key": "another-key"}
    await client.post(url, json={"email": "dee@umbrella.com"}, headers=other)
    async with engine.connect() as conn:
        keys = set(await conn.scalars(sa.select(idempotency_keys.c.key)))
    assert keys == {"another-key"}
