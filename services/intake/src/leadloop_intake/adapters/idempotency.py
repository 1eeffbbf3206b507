"""Idempotency keys in `intake.idempotency_keys`: one answer per (caller, scope, key) within a
TTL. Every statement is built once, with bind parameters (a request with a key runs three)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from leadloop_intake.adapters.tables import idempotency_keys
from leadloop_intake.domain.ports import StoredAnswer

PURGE_BATCH = 100
"""Expired idempotency keys deleted per claim: far more than keys are claimed, so the table
shrinks to the keys of the last TTL."""
T = idempotency_keys.c
EXPIRED = sa.bindparam("expired", type_=T.created_at.type)
THE_KEY = [
    T.caller == sa.bindparam("k_caller", type_=T.caller.type),
    T.scope == sa.bindparam("k_scope", type_=T.scope.type),
    T.key == sa.bindparam("k_key", type_=T.key.type),
]

# A bounded batch of expired keys; rows another transaction holds are left for the next purge,
# so concurrent requests never wait on each other here.
PURGE = idempotency_keys.delete().where(
    sa.tuple_(T.caller, T.scope, T.key).in_(
        sa.select(T.caller, T.scope, T.key)
        .where(T.created_at < EXPIRED)
        .limit(PURGE_BATCH)
        .with_for_update(skip_locked=True)
    )
)
_new = insert(idempotency_keys).values(
    {c.name: sa.bindparam(c.name, type_=c.type) for c in idempotency_keys.c}
)
CLAIM = _new.on_conflict_do_update(
    index_elements=[T.caller, T.scope, T.key],
    set_={
        **{c: getattr(_new.excluded, c) for c in ("fingerprint", "response", "lead_id")},
        "status_code": 0,
        "created_at": _new.excluded.created_at,
    },
    where=T.created_at < EXPIRED,
).returning(T.key)
READ = sa.select(T.fingerprint, T.status_code, T.response).where(*THE_KEY)
STORE = (
    idempotency_keys.update()
    .where(*THE_KEY)
    .values(
        status_code=sa.bindparam("a_status_code", type_=T.status_code.type),
        response=sa.bindparam("a_response", type_=T.response.type),
        lead_id=sa.bindparam("a_lead_id", type_=T.lead_id.type),
    )
)


def _the_key(caller: str, scope: str, key: str) -> dict[str, str]:
    return {"k_caller": caller, "k_scope": scope, "k_key": key}


async def claim(
    conn: AsyncConnection,
    caller: str,
    scope: str,
    key: str,
    fingerprint: str,
    now: datetime,
    ttl: timedelta,
) -> StoredAnswer | None:
    """Reserve the caller's `key`; the stored answer when the caller used it within `ttl`
    (else None: a new key, or an expired one taken over). The insert waits on a concurrent
    request with the same key until it commits."""
    expired = now - ttl
    await conn.execute(PURGE, {"expired": expired})
    new: dict[str, Any] = {"caller": caller, "scope": scope, "key": key}
    new |= {"fingerprint": fingerprint, "status_code": 0, "response": {}, "lead_id": None}
    new |= {"created_at": now}
    claimed = await conn.execute(CLAIM, new | {"expired": expired})
    if claimed.first() is not None:
        return None
    row = (await conn.execute(READ, _the_key(caller, scope, key))).one()
    return StoredAnswer(row.fingerprint, row.status_code, dict(row.response))


async def store(
    conn: AsyncConnection,
    caller: str,
    scope: str,
    key: str,
    answer: tuple[int, dict[str, Any], str | None],
) -> None:
    """The answer given under the key (status, body, the lead it concerns)."""
    status_code, response, lead_id = answer
    values: dict[str, Any] = {
        "a_status_code": status_code,
        "a_response": response,
        "a_lead_id": lead_id,
    }
    await conn.execute(STORE, _the_key(caller, scope, key) | values)
